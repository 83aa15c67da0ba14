using Microsoft.Extensions.Logging;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// The bytes of a part file (<c>name.part</c>) while a receive writes it: opened (a fresh one preallocated to the size
/// expected), and after a failure cut to exactly what reached it, which also frees the preallocated rest. Shared by
/// every receive path, so an interrupted transfer leaves the same resumable part whichever way the bytes came.
/// </summary>
internal static class PartData
{
    /// <summary>
    /// Opens the part file. A fresh one is preallocated to <paramref name="remaining"/> bytes (fallocate; its length stays
    /// 0), so a full disk shows before any byte is accepted and the writes do not allocate blocks one by one. A resumed
    /// one (<paramref name="resumeFrom"/> above zero) is opened as it is. A fresh part that is a symbolic link, a FIFO, a
    /// socket or a device is replaced, unopened, by a new file (<see cref="ForeignPartEntry"/>, logged to
    /// <paramref name="logger"/>); a resumed one never is one (<see cref="PartialFile.ResumableLength"/>). A fresh part is
    /// always created exclusively (O_EXCL) after <see cref="ForeignPartEntry.Clear"/>. A resumed one is opened without
    /// following a link or waiting (<see cref="ExistingPart"/>), and only if it is still <paramref name="resumedFile"/>, the
    /// file whose prefix was hashed: anything swapped in under its name since is refused (LocalIo) and left unwritten. The
    /// range was already asked for by then, so the receive fails rather than start over; the next one starts afresh.
    /// </summary>
    public static FileStream Open(string partPath, long resumeFrom, long remaining, ILogger logger, PartStamp? resumedFile = null)
    {
        try
        {
            if (resumeFrom > 0)
            {
                return ExistingPart.TryOpen(partPath, write: true, resumedFile, out var refusal) is var (stream, _)
                    ? stream
                    : throw new FileTransferException(
                        FileTransferErrorKind.LocalIo, $"Cannot resume {partPath}: {refusal}. It changed after it was checked, so nothing was written to it.");
            }

            ForeignPartEntry.Clear(partPath, logger);

            return new FileStream(partPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                BufferSize = 0,
                Options = FileOptions.Asynchronous,
                PreallocationSize = Math.Max(0, remaining),
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FileTransferException(FileTransferErrorKind.LocalIo, $"Cannot write {partPath}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// After a failure: let the committed blocks reach the file, then cut it to exactly what was written. After a write
    /// failure the sink has stopped already and <see cref="FileSink.CompleteAsync"/> only repeats that failure. After a
    /// stalled write the file is left as it is: cutting it would hang on the same disk, and its length only ever covers
    /// bytes written in order, so it is still a prefix to resume from. When <paramref name="cancellationToken"/> is
    /// cancelled (the receive was), a write that hangs is given up on after <see cref="WriteStallWatch.CancelGrace"/>
    /// instead of the stall timeout, with the same result; writes that return are waited for and cut to, as before.
    /// </summary>
    public static async Task SettleAsync(FileSink sink, FileStream part, CancellationToken cancellationToken)
    {
        try
        {
            await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileTransferException or OperationCanceledException)
        {
            // The disk failed too, or hung and was given up on for the cancel; what did get written is what we keep. The
            // caller rethrows the failure that stopped the receive, which says why.
        }

        if (!sink.Stalled)
        {
            part.SetLength(sink.Position);
        }
    }
}
