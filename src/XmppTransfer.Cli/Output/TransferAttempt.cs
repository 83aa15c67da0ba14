using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// What <c>xft</c> knows of one file while it is offered and transferred, for the result line of a file that does not finish
/// (error, expired, declined): the library's result comes only with success, so the size, the bytes moved, the resume offset
/// and the method are taken from the last progress report seen (<see cref="Watch"/>).
/// </summary>
/// <param name="file">The file on this side (the sender's full path), or the offered name where none is saved (a receiver).</param>
/// <param name="size">The file's size when known before any progress (a sent file, an SI offer); null otherwise.</param>
/// <param name="peer">The other side's JID as known: the receiver as given to <c>xft send</c>, the sender's full JID.</param>
/// <param name="sid">
/// The stream id, when known: a receiver's offer has it; a sender learns it with the result, or from the failure
/// (<see cref="Failed"/>).
/// </param>
internal sealed class TransferAttempt(string file, long? size, string? peer, string? sid)
{
    private FileTransferProgress? _last;
    private string? _sid = sid;

    public string File { get; } = file;

    public string? Peer { get; } = peer;

    public string? Sid => Volatile.Read(ref _sid);

    /// <summary>The size given, else the total of the last progress report when that knew it (an out-of-band download's).</summary>
    public long? Bytes => size ?? (LastProgress is { TotalBytes: >= 0 } last ? last.TotalBytes : null);

    /// <summary>The last byte report; a busy receiver's retry notice moves no bytes and is not one.</summary>
    public FileTransferProgress? LastProgress => Volatile.Read(ref _last);

    /// <summary>Bytes moved in this attempt as far as the last report knew (a resumed prefix does not count).</summary>
    public long Transferred => LastProgress is { } last ? Math.Max(0, last.BytesTransferred - last.ResumedFrom) : 0;

    /// <summary>
    /// Takes what <paramref name="failure"/> knows of this attempt: the sid of the offer it is about, once one was sent
    /// (<see cref="FileTransferException.Sid"/>, or recorded on the session's own error when the connection was lost after the
    /// offer: <see cref="FileTransferException.SidOf"/>), so the sender's line for a file that failed after its offer names it.
    /// </summary>
    public void Failed(Exception failure)
    {
        if (FileTransferException.SidOf(failure) is { } offered)
        {
            Volatile.Write(ref _sid, offered);
        }
    }

    /// <summary>
    /// A progress sink for the library that records each report here, synchronously (before a failure can be caught), and passes
    /// it on to <paramref name="display"/>.
    /// </summary>
    public IProgress<FileTransferProgress> Watch(IProgress<FileTransferProgress>? display) => new Recorder(this, display);

    private sealed class Recorder(TransferAttempt attempt, IProgress<FileTransferProgress>? display) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value)
        {
            if (value.RetryAt is null)
            {
                Volatile.Write(ref attempt._last, value);
            }

            display?.Report(value);
        }
    }
}
