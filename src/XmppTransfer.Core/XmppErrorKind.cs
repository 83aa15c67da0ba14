namespace XmppTransfer.Core;

/// <summary>What went wrong, coarsely, for every <see cref="XmppException"/>.</summary>
public enum XmppErrorKind
{
    /// <summary>DNS lookup failed or found nothing.</summary>
    Dns,
    /// <summary>TCP connect failed or the connection dropped.</summary>
    Connection,
    /// <summary>TLS negotiation or certificate validation failed.</summary>
    Tls,
    /// <summary>Authentication failed.</summary>
    Authentication,
    /// <summary>Resource binding failed.</summary>
    Binding,
    /// <summary>The peer sent something the protocol does not allow.</summary>
    ProtocolViolation,
    /// <summary>The peer answered with a stanza error.</summary>
    StanzaError,
    /// <summary>The peer sent a stream error; the stream is gone.</summary>
    StreamError,
    /// <summary>A documented timeout fired.</summary>
    Timeout,
    /// <summary>The stream is closed.</summary>
    Closed,
}
