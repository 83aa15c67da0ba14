namespace XmppTransfer.Core;

/// <summary>Base of every error the XMPP stack raises about the network or the peer.</summary>
public class XmppException : Exception
{
    public XmppException(XmppErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException) => Kind = kind;

    /// <summary>The coarse category of the failure.</summary>
    public XmppErrorKind Kind { get; }
}
