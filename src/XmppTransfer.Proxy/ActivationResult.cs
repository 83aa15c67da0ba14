namespace XmppTransfer.Proxy;

/// <summary>Outcome of <see cref="Socks5Proxy.TryActivate(string)"/>; the XMPP face maps it to the IQ answer.</summary>
public enum ActivationResult
{
    /// <summary>Both legs were connected; relaying has started. Answer with an empty IQ result.</summary>
    Activated,
    /// <summary>No connection uses this DST.ADDR (also what a wrong requester JID looks like). Answer item-not-found.</summary>
    NotFound,
    /// <summary>Only one leg is connected so far. Answer not-allowed.</summary>
    OneLegOnly,
    /// <summary>The stream was already activated. Answer not-allowed.</summary>
    AlreadyActive,
}
