using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Proxy;

/// <summary>
/// The XMPP face of a XEP-0065 (v1.8.2) streamhost, attachable to any <see cref="XmppSession"/>: an external
/// component (XEP-0114) or the embedded server's own session. It adds the disco#info identity
/// <c>proxy/bytestreams</c> and the bytestreams feature, and hands the address query and activation to the
/// session-independent request handling the embedded server's built-in proxy uses too (SHA1(sid + stanza
/// <c>from</c> + activate JID) recomputed before <see cref="Socks5Proxy.TryActivateTracked"/>). One instance may be
/// attached to one session after another (reconnects); the per-user stream counts survive them.
/// </summary>
public sealed class BytestreamProxyExtension : IXmppExtension
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);

    private readonly BytestreamProxyService _service;

    public BytestreamProxyExtension(Socks5Proxy proxy, BytestreamProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        _service = new BytestreamProxyService(proxy, options ?? BytestreamProxyOptions.Default);
    }

    /// <summary>The proxy this face activates streams on.</summary>
    public Socks5Proxy Proxy => _service.Proxy;

    /// <summary>Streams now relaying for <paramref name="requester"/> (its bare JID) that this face activated.</summary>
    public int GetActiveStreams(Jid requester) => _service.GetActiveStreams(requester);

    /// <inheritdoc/>
    public void Attach(XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Disco.AddIdentity(new DiscoIdentity("proxy", "bytestreams", _service.Options.Name));
        session.Disco.AddFeature(Namespaces.Bytestreams);
        session.RegisterIqHandler(s_query, IqType.Get, (iq, _) => ValueTask.FromResult(_service.Handle(iq, session.LocalJid)));
        session.RegisterIqHandler(s_query, IqType.Set, (iq, _) => ValueTask.FromResult(_service.Handle(iq, session.LocalJid)));
    }
}
