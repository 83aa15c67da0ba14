using Microsoft.Extensions.Logging;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// What a receive finds at its part's path (<c>name.part</c>) or its metadata's (<c>name.part.json</c>) that no receive
/// writes: a symbolic link, a FIFO, a socket or a device. A receive writes plain files only, so such an entry was put
/// there by someone else (a folder others can write to). It is never opened: a FIFO would make the open or the first
/// write wait for ever, a device is no file, and a link would carry the bytes to wherever it points. It is removed (its
/// name only: unlinking never opens, follows or waits) and a new plain file made in its place, as with any stale part a
/// fresh receive overwrites. A folder is left alone: the open then fails with a clear error.
/// </summary>
internal static class ForeignPartEntry
{
    /// <summary>
    /// Clears <paramref name="path"/> for a new file: whatever entry is there is removed (its name only), and a foreign one
    /// (see the class remarks) is logged first. The caller then creates the file with <see cref="FileMode.CreateNew"/>
    /// (O_EXCL), so an entry planted in between makes the open fail instead of being followed or waited on, and a hard
    /// link to some other file is unlinked rather than truncated. A folder is left for the open to refuse.
    /// </summary>
    public static void Clear(string path, ILogger logger)
    {
        var kind = FileKindProbe.Of(path, followLinks: false);
        if (kind == FileKind.Directory)
        {
            return;
        }

        if (kind is { } found && (found == FileKind.SymbolicLink || FileKindProbe.IsSpecial(found)))
        {
            FileTransferLog.ForeignPartReplaced(logger, path, FileKindProbe.Describe(found));
        }

        File.Delete(path);
    }
}
