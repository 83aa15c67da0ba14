namespace XmppTransfer.Bytestreams;

/// <summary>What went wrong with a bytestream, more finely than <see cref="Core.XmppErrorKind"/>.</summary>
public enum BytestreamErrorKind
{
    /// <summary>The SOCKS5 negotiation failed (no acceptable method, unexpected step).</summary>
    Socks5Handshake,
    /// <summary>A documented timeout fired.</summary>
    Timeout,
    /// <summary>The peer refused the request (SOCKS5 REP other than 00, IQ error).</summary>
    Refused,
    /// <summary>The peer sent bytes the protocol does not allow.</summary>
    ProtocolViolation,
    /// <summary>The connection closed or reset under us.</summary>
    Closed,
    /// <summary>The number of bytes transferred differs from the announced size.</summary>
    SizeMismatch,
    /// <summary>The session was cancelled by the peer.</summary>
    Cancelled,
    /// <summary>
    /// The peer's full JID went unavailable (its presence) before the bytestream was set up: nobody is left to send bytes or
    /// to activate a proxy. (A target the requester loses this way is still reported as <see cref="Closed"/>.)
    /// </summary>
    PeerUnavailable,
}
