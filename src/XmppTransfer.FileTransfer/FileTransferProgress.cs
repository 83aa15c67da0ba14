namespace XmppTransfer.FileTransfer;

/// <summary>A progress report: bytes so far (including a resumed prefix), the total, and the method in use.</summary>
/// <param name="FileName">
/// The sender's offered name; on a receiver, the name the file is being saved under (the offered name made safe, and unique
/// in the folder as it stood when the transfer started unless overwriting). The result has the name it was finally saved under,
/// which differs only when a file of that name appeared meanwhile.
/// </param>
/// <param name="BytesTransferred">Bytes of the file so far, a resumed prefix included (see <see cref="ResumedFrom"/>).</param>
/// <param name="TotalBytes">The whole file size; -1 while unknown (an out-of-band download before the server tells it).</param>
/// <param name="Elapsed">Since the transfer proper started (the receiver's answer).</param>
/// <param name="Method">The method in use, once known.</param>
public sealed record FileTransferProgress(string FileName, long BytesTransferred, long TotalBytes, TimeSpan Elapsed, TransferMethod? Method)
{
    /// <summary>Average rate of this run in bytes per second.</summary>
    public double BytesPerSecond { get; init; }

    /// <summary>
    /// Where this run started: the bytes the receiver already had (XEP-0096 range), 0 when not resumed. Bytes moved in this run
    /// are <see cref="BytesTransferred"/> minus this.
    /// </summary>
    public long ResumedFrom { get; init; }

    /// <summary>
    /// Set in the report a sender makes when the receiver refused its offer as busy (an error of type wait): when it offers
    /// again (<see cref="FileSendOptions.OfferRetryDelays"/>). Null in every other report.
    /// </summary>
    public DateTimeOffset? RetryAt { get; init; }
}
