using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy;
using XmppTransfer.Server.Components;

namespace XmppTransfer.Server.Tests;

/// <summary>The built-in proxy's component on its own (no sockets: the SOCKS5 engine is never started).</summary>
public sealed class ProxyComponentTests
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);

    [Fact]
    public async Task A_request_from_the_served_domain_itself_is_forbidden_since_only_users_may_use_the_proxy()
    {
        await using var proxy = new Socks5Proxy(Socks5ProxyOptions.Default);
        var router = new RecordingComponentRouter();
        var component = new ProxyComponent("proxy.example.test", "example.test", proxy, "127.0.0.1", 7777, 16, NullLoggerFactory.Instance, router);

        component.Deliver(Request(IqType.Get, "example.test", new XElement(s_query)));
        component.Deliver(Request(IqType.Set, "example.test", new XElement(s_query, new XAttribute("sid", "s"), new XElement(XName.Get("activate", Namespaces.Bytestreams), "bob@example.test/b"))));
        component.Deliver(Request(IqType.Get, "alice@example.test/a", new XElement(s_query)));

        Assert.Equal(3, router.Routed.Count);
        Assert.All(router.Routed.Take(2), reply => Assert.Equal(("forbidden", StanzaErrorType.Auth), (StanzaError.Parse(reply).Condition, StanzaError.Parse(reply).Type)));
        var host = Assert.Single(router.Routed[2].Descendants(XName.Get("streamhost", Namespaces.Bytestreams)));
        Assert.Equal(("proxy.example.test", "127.0.0.1", "7777"), ((string?)host.Attribute("jid"), (string?)host.Attribute("host"), (string?)host.Attribute("port")));
        Assert.All(router.Routed, reply => Assert.Equal("proxy.example.test", (string?)reply.Attribute("from")));
        Assert.Equal(2, proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.Forbidden));
    }

    [Fact]
    public async Task Disco_info_names_the_proxy_and_an_unknown_request_is_service_unavailable()
    {
        await using var proxy = new Socks5Proxy(Socks5ProxyOptions.Default);
        var router = new RecordingComponentRouter();
        var component = new ProxyComponent("proxy.example.test", "example.test", proxy, "127.0.0.1", 7777, 16, NullLoggerFactory.Instance, router);

        component.Deliver(Request(IqType.Get, "alice@example.test/a", new XElement(XName.Get("query", Namespaces.DiscoInfo))));
        component.Deliver(Request(IqType.Get, "alice@example.test/a", new XElement(XName.Get("query", "jabber:iq:version"))));

        var identity = Assert.Single(router.Routed[0].Descendants(XName.Get("identity", Namespaces.DiscoInfo)));
        Assert.Equal(("proxy", "bytestreams", "SOCKS5 Bytestreams Service"),
            ((string?)identity.Attribute("category"), (string?)identity.Attribute("type"), (string?)identity.Attribute("name")));
        Assert.Equal("SOCKS5 Bytestreams Service", component.Name);
        Assert.Equal("service-unavailable", StanzaError.Parse(router.Routed[1]).Condition);
    }

    private static XElement Request(IqType type, string from, XElement payload)
    {
        var iq = Stanza.MakeIq(type, Jid.Parse("proxy.example.test"), payload);
        iq.SetAttributeValue("from", from);
        return iq;
    }
}
