namespace XmppTransfer.FileTransfer;

/// <summary>A progress report: bytes so far (including a resumed prefix), the total, and the method in use.</summary>
public sealed record FileTransferProgress(string FileName, long BytesTransferred, long TotalBytes, TimeSpan Elapsed, TransferMethod? Method)
{
    /// <summary>Average rate of this run in bytes per second.</summary>
    public double BytesPerSecond { get; init; }

    /// <summary>
    /// Set in the report a sender makes when the receiver refused its offer as busy (an error of type wait): when it offers
    /// again (<see cref="FileSendOptions.OfferRetryDelays"/>). Null in every other report.
    /// </summary>
    public DateTimeOffset? RetryAt { get; init; }
}
