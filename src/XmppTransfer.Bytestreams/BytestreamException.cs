using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams;

/// <summary>A bytestream (SOCKS5 or IBB) failed because of the network or the peer.</summary>
public sealed class BytestreamException : XmppException
{
    public BytestreamException(BytestreamErrorKind errorKind, string message, Exception? innerException = null)
        : base(ToXmppErrorKind(errorKind), message, innerException) => ErrorKind = errorKind;

    /// <summary>The bytestream-specific category of the failure.</summary>
    public BytestreamErrorKind ErrorKind { get; }

    private static XmppErrorKind ToXmppErrorKind(BytestreamErrorKind errorKind) => errorKind switch
    {
        BytestreamErrorKind.Timeout => XmppErrorKind.Timeout,
        BytestreamErrorKind.Closed => XmppErrorKind.Closed,
        BytestreamErrorKind.Cancelled => XmppErrorKind.Closed,
        BytestreamErrorKind.Refused => XmppErrorKind.Connection,
        _ => XmppErrorKind.ProtocolViolation,
    };
}
