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

    /// <summary>
    /// The key under which a failure that is not a <see cref="FileTransferException"/> (our session's own error: the connection
    /// lost while an offer waited for its answer, or during the negotiation after it) carries the sid of the offer made, in
    /// <see cref="Exception.Data"/>; the error itself stays the session's, as any IQ on a closed stream gets.
    /// </summary>
    internal const string OfferSidKey = "XmppTransfer.FileTransfer.OfferSid";

    /// <summary>The sid of the last offer a send's <paramref name="failure"/> is about: <see cref="Sid"/>, or the one recorded
    /// under <see cref="OfferSidKey"/>; null when it failed before any offer.</summary>
    internal static string? SidOf(Exception failure) =>
        failure is FileTransferException { Sid: { } sid } ? sid : failure.Data[OfferSidKey] as string;
}
