using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer;

/// <summary>A file transfer failed; <see cref="ErrorKind"/> says how.</summary>
public sealed class FileTransferException : XmppException
{
    public FileTransferException(FileTransferErrorKind errorKind, string message, Exception? innerException = null)
        : base(errorKind == FileTransferErrorKind.Timeout ? XmppErrorKind.Timeout : XmppErrorKind.StanzaError, message, innerException) =>
        ErrorKind = errorKind;

    public FileTransferErrorKind ErrorKind { get; }

    /// <summary>
    /// The stream id of the offer this failure is about, once an offer was sent (the last one: a busy receiver's retry and the
    /// in-band fall back each send a new one); null when it failed before any offer. A sender learns the sid otherwise only
    /// from the result, and a failed file still needs it to be matched with the receiver's logs and lines.
    /// </summary>
    public string? Sid { get; internal set; }
}
