namespace XmppTransfer.Core;

/// <summary>DNS, TCP, TLS, SASL, bind failures, and a stream that closed under us.</summary>
public sealed class XmppConnectionException : XmppException
{
    public XmppConnectionException(XmppErrorKind kind, string message, Exception? innerException = null)
        : base(kind, message, innerException)
    {
    }
}
