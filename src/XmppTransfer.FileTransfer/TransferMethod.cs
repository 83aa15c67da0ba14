namespace XmppTransfer.FileTransfer;

/// <summary>What carried the bytes of a transfer.</summary>
public enum TransferMethod
{
    /// <summary>In-Band Bytestreams (XEP-0047): base64 inside stanzas, through the server.</summary>
    Ibb,

    /// <summary>SOCKS5 Bytestreams (XEP-0065), the receiver connected straight to the sender.</summary>
    Socks5Direct,

    /// <summary>SOCKS5 Bytestreams (XEP-0065) through a proxy (streamhost) that relayed.</summary>
    Socks5Proxy,

    /// <summary>Out-of-Band Data (XEP-0066): the receiver downloaded over HTTP.</summary>
    Oob,
}
