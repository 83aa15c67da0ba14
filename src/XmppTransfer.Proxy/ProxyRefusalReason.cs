namespace XmppTransfer.Proxy;

/// <summary>Why the proxy turned a connection away.</summary>
public enum ProxyRefusalReason
{
    /// <summary><see cref="Socks5ProxyOptions.MaxConnections"/> reached; closed right after accept.</summary>
    TotalConnectionLimit,
    /// <summary><see cref="Socks5ProxyOptions.MaxConnectionsPerAddress"/> reached; closed right after accept.</summary>
    PerAddressLimit,
    /// <summary>A third CONNECT for a DST.ADDR that already has two legs; answered REP 02 and closed.</summary>
    StreamAlreadyPaired,
    /// <summary>The proxy is stopping; closed.</summary>
    ShuttingDown,
}
