using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

public sealed class BytestreamProxyExtensionTests
{
    private const int StreamClosedEvent = 4008;

    [Fact]
    public async Task Disco_info_shows_the_proxy_identity_and_the_bytestreams_feature()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();

        DiscoInfo info = await h.Alice.Disco.GetInfoAsync(h.ServiceJid, cancellationToken: Ct).WaitAsync(TestTimeout, Ct);

        // The service here is a client session, which keeps its own client identity beside the proxy one.
        DiscoIdentity identity = Assert.Single(info.Identities, i => i.Category == "proxy");
        Assert.Equal(("proxy", "bytestreams", "SOCKS5 Bytestreams Service"), (identity.Category, identity.Type, identity.Name));
        Assert.Contains(Namespaces.Bytestreams, info.Features);
        Assert.Contains(Namespaces.DiscoInfo, info.Features);
    }

    [Fact]
    public async Task Disco_info_with_an_unknown_node_is_item_not_found_and_disco_items_are_empty()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();

        StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.Alice.Disco.GetInfoAsync(h.ServiceJid, "some-node", Ct).WaitAsync(TestTimeout, Ct));
        IReadOnlyList<DiscoItem> items = await h.Alice.Disco.GetItemsAsync(h.ServiceJid, cancellationToken: Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal("item-not-found", error.Condition);
        Assert.Empty(items);
    }

    [Fact]
    public async Task Address_query_answers_one_streamhost_per_public_host_and_echoes_the_sid()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync(o => o with
        {
            StreamHosts = [new ProxyStreamHost("proxy.example.test"), ProxyStreamHost.Parse("[2001:DB8:0:0::1]:7777")],
        });

        XElement result = await h.GetAsync(h.Alice, new XElement(ServiceHarness.Query, new XAttribute("sid", "old-client-sid")));

        XElement query = result.Element(ServiceHarness.Query)!;
        Assert.Equal("old-client-sid", (string?)query.Attribute("sid"));
        XElement[] hosts = [.. query.Elements(XName.Get("streamhost", Namespaces.Bytestreams))];
        Assert.Equal(2, hosts.Length);
        Assert.All(hosts, e => Assert.Equal(h.ServiceJid.ToString(), (string?)e.Attribute("jid")));
        Assert.Equal(("proxy.example.test", h.Proxy.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ((string?)hosts[0].Attribute("host"), (string?)hosts[0].Attribute("port")));
        Assert.Equal(("2001:db8::1", "7777"), ((string?)hosts[1].Attribute("host"), (string?)hosts[1].Attribute("port")));
        Assert.Equal(1, h.Proxy.Metrics.AddressQueries);
    }

    [Fact]
    public async Task Address_query_without_public_hosts_advertises_the_bound_loopback_endpoint()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();

        XElement result = await h.GetAsync(h.Alice, new XElement(ServiceHarness.Query));

        XElement host = Assert.Single(result.Element(ServiceHarness.Query)!.Elements(XName.Get("streamhost", Namespaces.Bytestreams)));
        Assert.Equal("127.0.0.1", (string?)host.Attribute("host"));
        Assert.Null(result.Element(ServiceHarness.Query)!.Attribute("sid"));
    }

    [Fact]
    public async Task Activation_by_the_requester_with_both_legs_connected_relays_between_them()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();
        (Socket target, Socket requester) = await h.ConnectPairAsync("sid-1", h.Alice, h.Bob);
        using (target)
        using (requester)
        {
            XElement result = await h.ActivateAsync(h.Alice, "sid-1", h.Bob.BoundJid.ToString());

            Assert.Equal("result", (string?)result.Attribute("type"));
            Assert.Empty(result.Elements());
            byte[] data = RandomBytes(100_000);
            await SendAsync(requester, data).WaitAsync(TestTimeout, Ct);
            requester.Shutdown(SocketShutdown.Send);
            (byte[] received, _) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);
            Assert.Equal(Sha256(data), Sha256(received));
            Assert.Equal(1, h.Extension.GetActiveStreams(h.Alice.BoundJid));
        }
    }

    [Fact]
    public async Task Activation_by_a_third_party_is_item_not_found_because_the_hash_includes_from()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();
        (Socket target, Socket requester) = await h.ConnectPairAsync("sid-2", h.Alice, h.Bob);
        using (target)
        using (requester)
        {
            StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Mallory, "sid-2", h.Bob.BoundJid.ToString()));

            Assert.Equal(("item-not-found", StanzaErrorType.Cancel), (error.Condition, error.Type));
            Assert.Equal(0, h.Proxy.Metrics.Activations);
            Assert.Equal(1, h.Proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.NotFound));
            await h.ActivateAsync(h.Alice, "sid-2", h.Bob.BoundJid.ToString());
        }
    }

    [Fact]
    public async Task Activation_with_a_wrong_sid_or_target_is_item_not_found()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();
        (Socket target, Socket requester) = await h.ConnectPairAsync("sid-3", h.Alice, h.Bob);
        using (target)
        using (requester)
        {
            StanzaError wrongSid = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-x", h.Bob.BoundJid.ToString()));
            StanzaError wrongTarget = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-3", h.Mallory.BoundJid.ToString()));

            Assert.Equal("item-not-found", wrongSid.Condition);
            Assert.Equal("item-not-found", wrongTarget.Condition);
        }
    }

    [Fact]
    public async Task Activation_before_the_second_leg_connects_is_not_allowed()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();
        string hash = Bytestreams.Socks5.Socks5Address.Compute("sid-4", h.Alice.BoundJid.ToString(), h.Bob.BoundJid.ToString());
        using Socket target = await h.Proxy.ConnectLegAsync(hash);

        StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-4", h.Bob.BoundJid.ToString()));

        Assert.Equal(("not-allowed", StanzaErrorType.Cancel), (error.Condition, error.Type));
        Assert.Equal(0, h.Extension.GetActiveStreams(h.Alice.BoundJid));
    }

    [Fact]
    public async Task Activating_an_active_stream_again_is_not_allowed()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();
        (Socket target, Socket requester) = await h.ConnectPairAsync("sid-5", h.Alice, h.Bob);
        using (target)
        using (requester)
        {
            await h.ActivateAsync(h.Alice, "sid-5", h.Bob.BoundJid.ToString());

            StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-5", h.Bob.BoundJid.ToString()));

            Assert.Equal("not-allowed", error.Condition);
            Assert.Equal(1, h.Extension.GetActiveStreams(h.Alice.BoundJid));
        }
    }

    [Fact]
    public async Task Activation_without_sid_or_activate_is_bad_request_and_a_bad_jid_is_jid_malformed()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();

        StanzaError noSid = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, null, h.Bob.BoundJid.ToString()));
        StanzaError noActivate = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-6", null));
        StanzaError badJid = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "sid-6", "@@not a jid/"));

        Assert.Equal(("bad-request", StanzaErrorType.Modify), (noSid.Condition, noSid.Type));
        Assert.Equal("bad-request", noActivate.Condition);
        Assert.Equal(("jid-malformed", StanzaErrorType.Modify), (badJid.Condition, badJid.Type));
    }

    [Fact]
    public async Task Users_outside_the_access_policy_are_forbidden_and_allow_listed_users_are_served()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync(o => o with { LocalDomains = ["other.test"], AllowedJids = ["alice@example.test"] });
        (Socket target, Socket requester) = await h.ConnectPairAsync("sid-7", h.Mallory, h.Bob);
        using (target)
        using (requester)
        {
            StanzaError query = await ServiceHarness.ErrorOfAsync(() => h.GetAsync(h.Mallory, new XElement(ServiceHarness.Query)));
            StanzaError activate = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Mallory, "sid-7", h.Bob.BoundJid.ToString()));
            XElement allowed = await h.GetAsync(h.Alice, new XElement(ServiceHarness.Query));

            Assert.Equal(("forbidden", StanzaErrorType.Auth), (query.Condition, query.Type));
            Assert.Equal(("forbidden", StanzaErrorType.Auth), (activate.Condition, activate.Type));
            Assert.Equal("result", (string?)allowed.Attribute("type"));
            Assert.Equal(2, h.Proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.Forbidden));
        }
    }

    [Fact]
    public async Task Default_policy_serves_the_sessions_own_domain()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync(o => o with { AllowedDomains = ["elsewhere.test"] });

        XElement result = await h.GetAsync(h.Mallory, new XElement(ServiceHarness.Query));

        Assert.Equal("result", (string?)result.Attribute("type"));
    }

    [Fact]
    public async Task Per_user_stream_cap_refuses_with_resource_constraint_until_a_stream_closes()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync(o => o with { MaxActiveStreamsPerJid = 1 });
        (Socket firstTarget, Socket firstRequester) = await h.ConnectPairAsync("cap-1", h.Alice, h.Bob);
        (Socket secondTarget, Socket secondRequester) = await h.ConnectPairAsync("cap-2", h.Alice, h.Bob);
        using (secondTarget)
        using (secondRequester)
        {
            await h.ActivateAsync(h.Alice, "cap-1", h.Bob.BoundJid.ToString());

            StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.ActivateAsync(h.Alice, "cap-2", h.Bob.BoundJid.ToString()));
            Assert.Equal(("resource-constraint", StanzaErrorType.Wait), (error.Condition, error.Type));
            Assert.Equal(1, h.Proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.StreamLimit));

            Task closed = h.Proxy.Log.WaitForAsync(StreamClosedEvent);
            firstTarget.Dispose();
            firstRequester.Dispose();
            await closed.WaitAsync(TestTimeout, Ct);

            Assert.Equal(0, h.Extension.GetActiveStreams(h.Alice.BoundJid));
            XElement result = await h.ActivateAsync(h.Alice, "cap-2", h.Bob.BoundJid.ToString());
            Assert.Equal("result", (string?)result.Attribute("type"));
        }
    }

    [Fact]
    public async Task Other_requests_to_the_service_are_service_unavailable()
    {
        await using ServiceHarness h = await ServiceHarness.StartAsync();

        StanzaError error = await ServiceHarness.ErrorOfAsync(() => h.GetAsync(h.Alice, new XElement(XName.Get("query", "jabber:iq:version"))));

        Assert.Equal("service-unavailable", error.Condition);
    }

    [Fact]
    public void Stream_hosts_parse_names_ipv4_and_ipv6_with_and_without_ports()
    {
        Assert.Equal(new ProxyStreamHost("proxy.example.org"), ProxyStreamHost.Parse("proxy.example.org"));
        Assert.Equal(new ProxyStreamHost("proxy.example.org", 7777), ProxyStreamHost.Parse("proxy.example.org:7777"));
        Assert.Equal(new ProxyStreamHost("192.0.2.1", 1080), ProxyStreamHost.Parse("192.0.2.1:1080"));
        Assert.Equal(new ProxyStreamHost("2001:db8::1"), ProxyStreamHost.Parse("2001:DB8::1"));
        Assert.Equal(new ProxyStreamHost("2001:db8::1", 7777), ProxyStreamHost.Parse("[2001:db8::1]:7777"));
        Assert.Throws<FormatException>(() => ProxyStreamHost.Parse("host:99999"));
        Assert.Throws<FormatException>(() => ProxyStreamHost.Parse("[::1"));
    }

    [Fact]
    public void Options_with_an_invalid_allowed_jid_or_cap_are_rejected()
    {
        Assert.ThrowsAny<ArgumentException>(() => (BytestreamProxyOptions.Default with { AllowedJids = ["@bad"] }).Validate());
        Assert.ThrowsAny<ArgumentException>(() => (BytestreamProxyOptions.Default with { MaxActiveStreamsPerJid = 0 }).Validate());
        Assert.ThrowsAny<ArgumentException>(() => (BytestreamProxyOptions.Default with { AllowedDomains = ["user@domain"] }).Validate());
    }
}
