using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Server.Tests;

public sealed class RoutingTests : IAsyncLifetime
{
    private ServerHarness _harness = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;

    public async ValueTask InitializeAsync()
    {
        _harness = await ServerHarness.StartAsync();
        _alice = await _harness.ConnectAsync("alice", "desk");
        _bob = await _harness.ConnectAsync("bob", "desk");
    }

    public async ValueTask DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Two_accounts_learn_each_others_full_jid_with_caps_from_presence()
    {
        var bobSeenByAlice = await ServerHarness.WaitForPresenceAsync(_alice, _bob.BoundJid);
        var aliceSeenByBob = await ServerHarness.WaitForPresenceAsync(_bob, _alice.BoundJid);

        Assert.NotNull(bobSeenByAlice.CapsVer);
        Assert.NotNull(aliceSeenByBob.CapsNode);
    }

    [Fact]
    public async Task A_session_that_goes_away_is_announced_as_unavailable()
    {
        await using var carol = await _harness.ConnectAsync("carol", "tmp");
        await ServerHarness.WaitForPresenceAsync(_alice, carol.BoundJid);
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _alice.PresenceReceived += p =>
        {
            if ((string?)p.Attribute("from") == carol.BoundJid.ToString() && (string?)p.Attribute("type") == "unavailable")
            {
                gone.TrySetResult();
            }
        };

        await carol.DisposeAsync();

        await gone.Task.WaitAsync(ServerHarness.Cap);
    }

    [Fact]
    public async Task The_roster_lists_every_other_account_with_subscription_both()
    {
        var result = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, null, new XElement(XName.Get("query", Namespaces.Roster)))).WaitAsync(ServerHarness.Cap);

        var items = result.Descendants(XName.Get("item", Namespaces.Roster)).ToList();
        Assert.Equal(["bob@example.test", "carol@example.test"], items.Select(i => (string)i.Attribute("jid")!));
        Assert.All(items, i => Assert.Equal("both", (string?)i.Attribute("subscription")));
    }

    [Fact]
    public async Task Disco_on_the_domain_shows_an_im_server_whose_items_include_the_proxy()
    {
        var domain = Jid.Parse(ServerHarness.Domain);
        var info = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, domain, new XElement(XName.Get("query", Namespaces.DiscoInfo)))).WaitAsync(ServerHarness.Cap);
        var items = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, domain, new XElement(XName.Get("query", Namespaces.DiscoItems)))).WaitAsync(ServerHarness.Cap);

        var identity = info.Descendants(XName.Get("identity", Namespaces.DiscoInfo)).Single();
        Assert.Equal("server", (string?)identity.Attribute("category"));
        Assert.Equal("im", (string?)identity.Attribute("type"));
        Assert.Contains("proxy.example.test", items.Descendants(XName.Get("item", Namespaces.DiscoItems)).Select(i => (string?)i.Attribute("jid")));
    }

    [Fact]
    public async Task The_proxy_answers_disco_and_the_address_query_with_its_streamhost()
    {
        var proxy = Jid.Parse("proxy.example.test");
        var info = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, proxy, new XElement(XName.Get("query", Namespaces.DiscoInfo)))).WaitAsync(ServerHarness.Cap);
        var address = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, proxy, new XElement(XName.Get("query", Namespaces.Bytestreams)))).WaitAsync(ServerHarness.Cap);

        var identity = info.Descendants(XName.Get("identity", Namespaces.DiscoInfo)).Single();
        Assert.Equal("proxy", (string?)identity.Attribute("category"));
        Assert.Equal("bytestreams", (string?)identity.Attribute("type"));
        var host = address.Descendants(XName.Get("streamhost", Namespaces.Bytestreams)).Single();
        Assert.Equal("proxy.example.test", (string?)host.Attribute("jid"));
        Assert.Equal("127.0.0.1", (string?)host.Attribute("host"));
        Assert.Equal(_harness.Server.ProxyEndPoint!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)host.Attribute("port"));
    }

    [Fact]
    public async Task An_iq_to_a_full_jid_reaches_that_session_with_from_stamped()
    {
        var seen = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var name = XName.Get("query", "urn:test:echo");
        _bob.RegisterIqHandler(name, IqType.Get, (iq, _) =>
        {
            seen.TrySetResult(iq);
            return ValueTask.FromResult<XElement?>(new XElement(name, "pong"));
        });

        var result = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, _bob.BoundJid, new XElement(name))).WaitAsync(ServerHarness.Cap);

        Assert.Equal("pong", result.Element(name)?.Value);
        Assert.Equal(_alice.BoundJid.ToString(), (string?)(await seen.Task.WaitAsync(ServerHarness.Cap)).Attribute("from"));
    }

    [Fact]
    public async Task An_iq_to_an_offline_full_jid_gets_service_unavailable()
    {
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/gone"), new XElement(XName.Get("query", "urn:test:echo")))).WaitAsync(ServerHarness.Cap));

        Assert.Equal("service-unavailable", ex.Error.Condition);
    }

    [Fact]
    public async Task An_iq_to_an_unknown_account_gets_service_unavailable()
    {
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("nobody@example.test"), new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap));

        Assert.Equal("service-unavailable", ex.Error.Condition);
    }

    [Fact]
    public async Task An_address_that_case_mapping_makes_too_long_is_jid_malformed_and_the_sender_keeps_its_session()
    {
        // 800 bytes as sent, 1,200 once lower-cased (U+023A -> U+2C65): the account lookup re-read it as a user name, threw,
        // and the sender's stream ended with internal-server-error.
        var iq = new XElement(
            Stanza.Iq,
            new XAttribute("type", "get"),
            new XAttribute("id", "long-local"),
            new XAttribute("to", new string('\u023A', 400) + "@example.test"),
            new XElement(XName.Get("ping", Namespaces.Ping)));

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => _alice.SendIqAsync(iq).WaitAsync(ServerHarness.Cap));
        var ping = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap);

        Assert.Equal("jid-malformed", ex.Error.Condition);
        Assert.True(_alice.IsConnected);
        Assert.NotNull(ping);
    }

    [Fact]
    public async Task An_iq_to_a_bare_jid_is_answered_by_the_server_for_the_account()
    {
        var ping = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, _bob.BoundJid.Bare, new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap);
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, _bob.BoundJid.Bare, new XElement(XName.Get("query", "urn:test:echo")))).WaitAsync(ServerHarness.Cap));

        Assert.Equal("result", (string?)ping.Attribute("type"));
        Assert.Equal("service-unavailable", ex.Error.Condition);
    }

    [Fact]
    public async Task The_server_answers_ping()
    {
        var result = await _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap);

        Assert.Equal("result", (string?)result.Attribute("type"));
    }

    [Fact]
    public async Task A_message_to_a_bare_jid_goes_to_the_highest_priority_resource()
    {
        await using var bobPhone = await _harness.ConnectAsync("bob", "phone", options: _harness.ClientOptions("bob", "phone") with { SendInitialPresence = false });
        await bobPhone.SendAsync(new XElement(Stanza.Presence, new XElement(XName.Get("priority", Namespaces.Client), "10")));
        await ServerHarness.WaitForPresenceAsync(_alice, bobPhone.BoundJid);
        var onPhone = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var onDesk = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        bobPhone.MessageReceived += m => onPhone.TrySetResult(m);
        _bob.MessageReceived += m => onDesk.TrySetResult(m);

        await _alice.SendAsync(new XElement(Stanza.Message, new XAttribute("to", "bob@example.test"), new XAttribute("type", "chat"), new XElement(XName.Get("body", Namespaces.Client), "hi")));

        var message = await onPhone.Task.WaitAsync(ServerHarness.Cap);
        Assert.Equal(_alice.BoundJid.ToString(), (string?)message.Attribute("from"));
        Assert.False(onDesk.Task.IsCompleted);
    }

    [Fact]
    public async Task A_message_to_an_offline_account_bounces_with_service_unavailable()
    {
        var bounced = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _alice.MessageReceived += m => bounced.TrySetResult(m);

        await _alice.SendAsync(new XElement(Stanza.Message, new XAttribute("to", "carol@example.test"), new XAttribute("type", "chat"), new XElement(XName.Get("body", Namespaces.Client), "hi")));

        var error = await bounced.Task.WaitAsync(ServerHarness.Cap);
        Assert.Equal("error", (string?)error.Attribute("type"));
        Assert.Equal("service-unavailable", StanzaError.Parse(error).Condition);
    }

    [Fact]
    public async Task A_stanza_to_another_server_gets_remote_server_not_found()
    {
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("someone@elsewhere.test"), new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap));

        Assert.Equal("remote-server-not-found", ex.Error.Condition);
    }
}
