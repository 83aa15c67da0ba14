using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

/// <summary>
/// The check <see cref="FileTransferManager.SendFileAsync"/> and <see cref="FileTransferManager.SendOobAsync"/> make before
/// they open a path: an offer states the size and hashes up front and a resume seeks, which a FIFO or a device cannot
/// give, and opening a FIFO that has no writer would wait for ever, out of reach of any token or timeout.
/// </summary>
internal static class SendableFile
{
    /// <summary>
    /// Throws <see cref="FileTransferException"/> (<see cref="FileTransferErrorKind.LocalIo"/>) when
    /// <paramref name="path"/> is, or is a symbolic link to, a FIFO, a socket or a device. A link to a regular file is
    /// sent as that file. Anything else (missing, unreadable, a folder) is left to the open, which words it as before.
    /// </summary>
    public static void EnsureNotSpecial(string path)
    {
        if (FileKindProbe.Of(path, followLinks: true) is { } kind && FileKindProbe.IsSpecial(kind))
        {
            throw new FileTransferException(
                FileTransferErrorKind.LocalIo,
                $"Cannot send {path}: it is {FileKindProbe.Describe(kind)}, not a regular file; only regular files can be sent (SendStreamAsync takes any stream).");
        }
    }
}
