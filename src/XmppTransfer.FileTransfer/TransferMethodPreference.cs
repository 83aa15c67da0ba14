namespace XmppTransfer.FileTransfer;

/// <summary>Which methods a send may use.</summary>
public enum TransferMethodPreference
{
    /// <summary>SOCKS5 first, then IBB (falls back automatically). The default.</summary>
    Auto,

    /// <summary>In-Band Bytestreams only.</summary>
    Ibb,

    /// <summary>SOCKS5 Bytestreams only (direct or proxy), no fallback.</summary>
    Socks5,

    /// <summary>Out-of-Band Data (HTTP) only.</summary>
    Oob,
}
