using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Proxy.Tests;

/// <summary>The request handling on its own, as the embedded server hosts it (no session, no sockets).</summary>
public sealed class BytestreamProxyServiceTests
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private static readonly Jid s_service = Jid.Parse("proxy.example.org");

    [Fact]
    public async Task Users_only_refuses_a_jid_without_a_local_part_even_when_anyone_may_use_the_proxy()
    {
        await using Socks5Proxy proxy = new(Socks5ProxyOptions.Default);
        BytestreamProxyService service = new(proxy, Options() with { AllowAnyone = true }, usersOnly: true);

        XmppStanzaErrorException server = Assert.Throws<XmppStanzaErrorException>(() => service.Handle(AddressQuery("example.org"), s_service));
        XmppStanzaErrorException activation = Assert.Throws<XmppStanzaErrorException>(() => service.Handle(Activation("example.org"), s_service));
        XElement? user = service.Handle(AddressQuery("someone@elsewhere.test/r"), s_service);

        Assert.Equal(("forbidden", StanzaErrorType.Auth), (server.Error.Condition, server.Error.Type));
        Assert.Equal("forbidden", activation.Error.Condition);
        Assert.Equal(2, proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.Forbidden));
        XElement host = Assert.Single(user!.Elements(XName.Get("streamhost", Namespaces.Bytestreams)));
        Assert.Equal(("proxy.example.org", "proxy.example.org", "7777"),
            ((string?)host.Attribute("jid"), (string?)host.Attribute("host"), (string?)host.Attribute("port")));
    }

    [Fact]
    public async Task Without_users_only_the_parent_domain_itself_may_query_as_before()
    {
        await using Socks5Proxy proxy = new(Socks5ProxyOptions.Default);
        BytestreamProxyService service = new(proxy, Options());

        XElement? answer = service.Handle(AddressQuery("example.org"), s_service);

        Assert.NotNull(answer);
        Assert.Equal(1, proxy.Metrics.AddressQueries);
    }

    [Fact]
    public async Task An_iq_that_is_not_a_bytestreams_get_or_set_is_misuse()
    {
        await using Socks5Proxy proxy = new(Socks5ProxyOptions.Default);
        BytestreamProxyService service = new(proxy, Options());
        XElement result = Stanza.MakeIq(IqType.Result, s_service, new XElement(s_query));
        result.SetAttributeValue("from", "alice@example.org/a");

        Assert.Throws<ArgumentException>(() => service.Handle(result, s_service));
        Assert.Throws<ArgumentException>(() => service.Handle(Stanza.MakeIq(IqType.Get, s_service, new XElement(XName.Get("query", Namespaces.DiscoInfo))), s_service));
    }

    private static BytestreamProxyOptions Options() => BytestreamProxyOptions.Default with { StreamHosts = [new ProxyStreamHost("proxy.example.org", 7777)] };

    private static XElement AddressQuery(string from)
    {
        XElement iq = Stanza.MakeIq(IqType.Get, s_service, new XElement(s_query));
        iq.SetAttributeValue("from", from);
        return iq;
    }

    private static XElement Activation(string from)
    {
        XElement iq = Stanza.MakeIq(IqType.Set, s_service, new XElement(s_query, new XAttribute("sid", "s"), new XElement(XName.Get("activate", Namespaces.Bytestreams), "bob@example.org/b")));
        iq.SetAttributeValue("from", from);
        return iq;
    }
}
