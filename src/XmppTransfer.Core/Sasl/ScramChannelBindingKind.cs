namespace XmppTransfer.Core.Sasl;

/// <summary>The three GS2 channel-binding flags of RFC 5802 §7.</summary>
internal enum ScramChannelBindingKind
{
    /// <summary><c>n,,</c>: the client does not support channel binding.</summary>
    None,

    /// <summary><c>y,,</c>: the client supports channel binding but thinks the server does not.</summary>
    NotOfferedByServer,

    /// <summary><c>p=tls-server-end-point,,</c>: a -PLUS mechanism bound to the TLS server certificate (RFC 5929).</summary>
    TlsServerEndPoint,
}
