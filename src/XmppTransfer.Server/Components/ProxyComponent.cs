using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy;

namespace XmppTransfer.Server.Components;

/// <summary>
/// The XMPP duties of the built-in XEP-0065 streamhost (PROTOCOLS.md §5.2), hosted in-process: the proxy's face
/// written for <c>xft proxy</c> is an extension of an <c>XmppSession</c> and needs a socket stream, so the few
/// duties are done here directly against the same <see cref="Socks5Proxy"/> engine.
/// disco#info ⇒ identity proxy/bytestreams; disco#items ⇒ empty; address query ⇒ one streamhost (local users only,
/// else <c>forbidden</c>); activation ⇒ recompute SHA1(sid + from + target) and <see cref="Socks5Proxy.TryActivate"/>.
/// </summary>
internal sealed class ProxyComponent(string domain, string serverDomain, Socks5Proxy proxy, string host, int port, IComponentRouter router) : IServerComponent
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private static readonly XName s_discoInfo = XName.Get("query", Namespaces.DiscoInfo);
    private static readonly XName s_discoItems = XName.Get("query", Namespaces.DiscoItems);

    public string Domain { get; } = domain;

    public string? Name => "SOCKS5 Bytestreams Service";

    public bool Deliver(XElement stanza)
    {
        if (stanza.Name != Stanza.Iq || Stanza.GetIqType(stanza) is not (IqType.Get or IqType.Set))
        {
            // Messages, presence, results and errors: nothing to do (never answer an error with an error).
            return true;
        }

        var reply = Answer(stanza);
        reply.SetAttributeValue("from", Domain);
        router.RouteFromComponent(this, reply);
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

        var from = Stanza.GetFrom(iq);
        if (payload.Name == s_query && get)
        {
            // Only users of this server may use its proxy (XEP-0065 §11, and what Prosody does).
            return from?.Domain != serverDomain || from.Local is null
                ? Stanza.MakeError(iq, StanzaError.Forbidden())
                : Stanza.MakeResult(iq, new XElement(
                    s_query,
                    new XElement(XName.Get("streamhost", Namespaces.Bytestreams), new XAttribute("jid", Domain), new XAttribute("host", host), new XAttribute("port", port))));
        }

        if (payload.Name == s_query && !get)
        {
            return Activate(iq, payload, from);
        }

        return Stanza.MakeError(iq, StanzaError.ServiceUnavailable());
    }

    private XElement Activate(XElement iq, XElement query, Jid? from)
    {
        var sid = (string?)query.Attribute("sid");
        var activate = query.Element(XName.Get("activate", Namespaces.Bytestreams))?.Value.Trim();
        if (string.IsNullOrEmpty(sid) || string.IsNullOrEmpty(activate) || from is null)
        {
            return Stanza.MakeError(iq, StanzaError.BadRequest("The activation needs a sid and an <activate/> JID."));
        }

        if (!Jid.TryParse(activate, out var target))
        {
            return Stanza.MakeError(iq, StanzaError.JidMalformed());
        }

        // The hash includes the server-stamped 'from': only the Requester can activate.
        return proxy.TryActivate(Socks5Address.Compute(sid, from.ToString(), target.ToString())) switch
        {
            ActivationResult.Activated => Stanza.MakeResult(iq),
            ActivationResult.NotFound => Stanza.MakeError(iq, StanzaError.ItemNotFound("No connected stream has this sid, requester and target.")),
            ActivationResult.OneLegOnly => Stanza.MakeError(iq, StanzaError.NotAllowed("Only one side has connected so far.")),
            ActivationResult.AlreadyActive => Stanza.MakeError(iq, StanzaError.NotAllowed("The stream is already active.")),
            _ => Stanza.MakeError(iq, StanzaError.InternalServerError()),
        };
    }
}
