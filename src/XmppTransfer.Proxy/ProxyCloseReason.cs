namespace XmppTransfer.Proxy;

/// <summary>Why a stream (one or two legs sharing a DST.ADDR) was closed.</summary>
public enum ProxyCloseReason
{
    /// <summary>Both directions reached end of stream after activation.</summary>
    Completed,
    /// <summary>No second leg within <see cref="Socks5ProxyOptions.UnpairedTimeout"/>.</summary>
    UnpairedTimeout,
    /// <summary>Not activated within <see cref="Socks5ProxyOptions.UnactivatedTimeout"/> after pairing.</summary>
    UnactivatedTimeout,
    /// <summary>No bytes in either direction for <see cref="Socks5ProxyOptions.IdleTimeout"/>.</summary>
    IdleTimeout,
    /// <summary>More than <see cref="Socks5ProxyOptions.MaxBytesPerStream"/> bytes.</summary>
    ByteLimit,
    /// <summary>A leg disconnected before activation.</summary>
    PeerLeftBeforeActivation,
    /// <summary>A socket error (reset, failed write).</summary>
    Error,
    /// <summary>The proxy stopped.</summary>
    Shutdown,
}
