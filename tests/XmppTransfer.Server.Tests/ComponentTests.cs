using System.Diagnostics;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Server.Tests;

public sealed class ComponentTests
{
    [Fact]
    public async Task A_component_with_the_right_secret_attaches_and_exchanges_stanzas_with_users()
    {
        await using var harness = await ServerHarness.StartAsync();
        await using var component = new XmppComponent(Options(harness, "component-secret"));
        var name = XName.Get("query", "urn:test:echo");
        component.RegisterIqHandler(name, IqType.Get, (_, _) => ValueTask.FromResult<XElement?>(new XElement(name, "from component")));
        await component.ConnectAsync().WaitAsync(ServerHarness.Cap);
        var alice = await harness.ConnectAsync("alice");

        var answer = await alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("comp.example.test"), new XElement(name))).WaitAsync(ServerHarness.Cap);
        var items = await alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("query", Namespaces.DiscoItems)))).WaitAsync(ServerHarness.Cap);

        Assert.Equal("from component", answer.Element(name)?.Value);
        Assert.Equal("comp.example.test", (string?)answer.Attribute("from"));
        Assert.Contains("comp.example.test", items.Descendants(XName.Get("item", Namespaces.DiscoItems)).Select(i => (string?)i.Attribute("jid")));
        Assert.Equal(1, harness.Server.Metrics.ComponentsOpen);
    }

    [Fact]
    public async Task A_component_with_a_wrong_secret_is_refused_with_not_authorized()
    {
        await using var harness = await ServerHarness.StartAsync();
        await using var component = new XmppComponent(Options(harness, "wrong"));

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => component.ConnectAsync().WaitAsync(ServerHarness.Cap));

        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.Contains("not-authorized", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_component_handshake_counts_as_a_failed_login_in_the_metrics()
    {
        await using var harness = await ServerHarness.StartAsync();
        await using var component = new XmppComponent(Options(harness, "wrong"));

        await Assert.ThrowsAsync<XmppConnectionException>(() => component.ConnectAsync().WaitAsync(ServerHarness.Cap));

        using var prometheus = new StringWriter();
        harness.Server.WritePrometheus(prometheus);
        Assert.Equal(1, harness.Server.Metrics.AuthFailures);
        Assert.Equal(0, harness.Server.Metrics.AuthSuccesses);
        Assert.Contains("\nxft_server_auth_failures_total 1\n", prometheus.ToString().ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_handshakes_are_answered_late_and_lock_out_their_address_while_the_component_attaches_from_another()
    {
        var options = ServerHarness.BaseOptions with
        {
            AuthFailureDelay = TimeSpan.FromMilliseconds(300),
            MaxAuthFailureDelay = TimeSpan.FromMilliseconds(300),
            AccountLockoutThreshold = 2,
        };
        await using var harness = await ServerHarness.StartAsync(options);
        await using var attacker = new SourceAddressForwarder(harness.Server.ComponentEndPoint!);
        XmppComponentOptions ViaAttacker(string secret) => Options(harness, secret) with { Port = attacker.EndPoint.Port };

        var first = Stopwatch.StartNew();
        await using (var guess = new XmppComponent(ViaAttacker("guess-1")))
        {
            await Assert.ThrowsAsync<XmppConnectionException>(() => guess.ConnectAsync().WaitAsync(ServerHarness.Cap));
        }

        var firstAnswer = first.Elapsed;
        await using (var guess = new XmppComponent(ViaAttacker("guess-2")))
        {
            await Assert.ThrowsAsync<XmppConnectionException>(() => guess.ConnectAsync().WaitAsync(ServerHarness.Cap));
        }

        await using var rightSecretThere = new XmppComponent(ViaAttacker("component-secret"));
        var locked = await Assert.ThrowsAsync<XmppConnectionException>(() => rightSecretThere.ConnectAsync().WaitAsync(ServerHarness.Cap));
        await using var component = new XmppComponent(Options(harness, "component-secret"));
        await component.ConnectAsync().WaitAsync(ServerHarness.Cap);

        Assert.True(firstAnswer >= TimeSpan.FromMilliseconds(250), $"the first wrong handshake was answered after {firstAnswer}");
        Assert.Contains("not-authorized", locked.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Server.Metrics.ComponentsOpen);
        Assert.Equal(3, harness.Server.Metrics.AuthFailures);
        Assert.Equal(1, harness.Server.Metrics.AuthSuccesses);
    }

    [Fact]
    public async Task An_unconfigured_component_name_is_refused_with_host_unknown()
    {
        await using var harness = await ServerHarness.StartAsync();
        await using var component = new XmppComponent(Options(harness, "component-secret") with { Jid = Jid.Parse("other.example.test") });

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => component.ConnectAsync().WaitAsync(ServerHarness.Cap));

        Assert.Contains("host-unknown", ex.Message, StringComparison.Ordinal);
    }

    private static XmppComponentOptions Options(ServerHarness harness, string secret) => new()
    {
        Jid = Jid.Parse("comp.example.test"),
        Secret = secret,
        Host = "127.0.0.1",
        Port = harness.Server.ComponentEndPoint!.Port,
    };
}
