using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer;

/// <summary>A file transfer failed; <see cref="ErrorKind"/> says how.</summary>
public sealed class FileTransferException : XmppException
{
    public FileTransferException(FileTransferErrorKind errorKind, string message, Exception? innerException = null)
        : base(errorKind == FileTransferErrorKind.Timeout ? XmppErrorKind.Timeout : XmppErrorKind.StanzaError, message, innerException) =>
        ErrorKind = errorKind;

    public FileTransferErrorKind ErrorKind { get; }
}
