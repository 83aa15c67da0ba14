namespace XmppTransfer.Core;

/// <summary>How a client protects its stream.</summary>
public enum TlsMode
{
    /// <summary>STARTTLS (RFC 6120 §5), and fail if the server does not offer it. The default.</summary>
    Required,

    /// <summary>TLS from the first byte (XEP-0368), e.g. on port 5223.</summary>
    Direct,

    /// <summary>No TLS at all. Only when the caller explicitly asks; fails if the server requires TLS.</summary>
    Off,
}
