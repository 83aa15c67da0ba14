namespace XmppTransfer.Proxy;

/// <summary>Why the XMPP face refused a bytestreams request (address query or activation).</summary>
public enum ProxyActivationRefusal
{
    /// <summary>The requester is not allowed to use the proxy: <c>forbidden</c> (auth).</summary>
    Forbidden,
    /// <summary>No sid or no activate element: <c>bad-request</c>.</summary>
    BadRequest,
    /// <summary>The activate text is not a JID: <c>jid-malformed</c>.</summary>
    JidMalformed,
    /// <summary>No connection with SHA1(sid + from + target): <c>item-not-found</c> (also a third party's attempt).</summary>
    NotFound,
    /// <summary>Only one leg connected, or already active: <c>not-allowed</c>.</summary>
    NotAllowed,
    /// <summary>The requester has <see cref="BytestreamProxyOptions.MaxActiveStreamsPerJid"/> active streams: <c>resource-constraint</c>.</summary>
    StreamLimit,
}
