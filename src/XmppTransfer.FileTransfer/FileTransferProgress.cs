namespace XmppTransfer.FileTransfer;

/// <summary>A progress report: bytes so far (including a resumed prefix), the total, and the method in use.</summary>
public sealed record FileTransferProgress(string FileName, long BytesTransferred, long TotalBytes, TimeSpan Elapsed, TransferMethod? Method)
{
    /// <summary>Average rate of this run in bytes per second.</summary>
    public double BytesPerSecond { get; init; }
}
