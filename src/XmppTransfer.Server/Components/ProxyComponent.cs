using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy;

namespace XmppTransfer.Server.Components;

/// <summary>
/// The XMPP duties of the built-in XEP-0065 streamhost (PROTOCOLS.md §5.2), hosted in-process. It has no
/// <c>XmppSession</c>, so it answers disco itself (disco#info ⇒ identity proxy/bytestreams; disco#items ⇒ empty) and
/// hands the address query and activation to <see cref="BytestreamProxyService"/>, the request handling of
/// <c>xft proxy</c>: one streamhost (this domain at the bound host and port), users of the server's domain only (a
/// <c>from</c> without a local part or at another domain gets <c>forbidden</c>), at most
/// <see cref="ServerOptions.ProxyMaxActiveStreamsPerJid"/> active streams per user (<c>resource-constraint</c>),
/// activation by recomputing SHA1(sid + from + target), with refusals counted in the proxy's metrics and logged.
/// </summary>
internal sealed class ProxyComponent : IServerComponent
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private static readonly XName s_discoInfo = XName.Get("query", Namespaces.DiscoInfo);
    private static readonly XName s_discoItems = XName.Get("query", Namespaces.DiscoItems);

    private readonly Jid _jid;
    private readonly BytestreamProxyService _service;
    private readonly IComponentRouter _router;

    /// <param name="domain">The component's domain (lower-case), also the streamhost JID.</param>
    /// <param name="serverDomain">The served domain: only its users may use the proxy.</param>
    /// <param name="proxy">The started SOCKS5 engine.</param>
    /// <param name="host">The host advertised in the streamhost.</param>
    /// <param name="port">The port advertised in the streamhost.</param>
    /// <param name="maxActiveStreamsPerJid">Active streams one user may have at once.</param>
    /// <param name="loggerFactory">The server's logging.</param>
    /// <param name="router">Where answers go.</param>
    public ProxyComponent(string domain, string serverDomain, Socks5Proxy proxy, string host, int port, int maxActiveStreamsPerJid,
        ILoggerFactory loggerFactory, IComponentRouter router)
    {
        Domain = domain;
        _jid = Jid.Parse(domain);
        _router = router;
        _service = new BytestreamProxyService(
            proxy,
            BytestreamProxyOptions.Default with
            {
                Jid = domain,
                StreamHosts = [new ProxyStreamHost(host, port)],
                LocalDomains = [serverDomain],
                MaxActiveStreamsPerJid = maxActiveStreamsPerJid,
                LoggerFactory = loggerFactory,
            },
            usersOnly: true);
    }

    public string Domain { get; }

    public string? Name => _service.Options.Name;

    public bool Deliver(XElement stanza)
    {
        if (stanza.Name != Stanza.Iq || Stanza.GetIqType(stanza) is not (IqType.Get or IqType.Set))
        {
            // Messages, presence, results and errors: nothing to do (never answer an error with an error).
            return true;
        }

        var reply = Answer(stanza);
        reply.SetAttributeValue("from", Domain);
        _router.RouteFromComponent(this, reply);
        return true;
    }

    private XElement Answer(XElement iq)
    {
        var get = Stanza.GetIqType(iq) == IqType.Get;
        var payload = iq.Elements().FirstOrDefault();
        if (payload is null)
        {
            return Stanza.MakeError(iq, StanzaError.BadRequest());
        }

        if (payload.Name == s_discoInfo && get)
        {
            return payload.Attribute("node") is not null
                ? Stanza.MakeError(iq, StanzaError.ItemNotFound())
                : Stanza.MakeResult(iq, new XElement(
                    s_discoInfo,
                    new XElement(XName.Get("identity", Namespaces.DiscoInfo), new XAttribute("category", "proxy"), new XAttribute("type", "bytestreams"), new XAttribute("name", Name!)),
                    new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", Namespaces.DiscoInfo)),
                    new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", Namespaces.Bytestreams))));
        }

        if (payload.Name == s_discoItems && get)
        {
            return payload.Attribute("node") is not null ? Stanza.MakeError(iq, StanzaError.ItemNotFound()) : Stanza.MakeResult(iq, new XElement(s_discoItems));
        }

        if (payload.Name == s_query)
        {
            try
            {
                return Stanza.MakeResult(iq, _service.Handle(iq, _jid));
            }
            catch (XmppStanzaErrorException ex)
            {
                return Stanza.MakeError(iq, ex.Error);
            }
        }

        return Stanza.MakeError(iq, StanzaError.ServiceUnavailable());
    }
}
