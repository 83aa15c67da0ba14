namespace XmppTransfer.Testing.Slixmpp;

/// <summary>The bytestream a slixmpp sender offers in its SI request.</summary>
public enum SlixmppTransferMethod
{
    /// <summary>In-Band Bytestreams (XEP-0047).</summary>
    Ibb,

    /// <summary>SOCKS5 Bytestreams (XEP-0065); slixmpp offers only proxies it discovers on its server.</summary>
    S5b,
}
