using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy;

namespace XmppTransfer.Server.Tests;

public sealed class BuiltInProxyTests
{
    private const int StreamClosedEvent = 4008;

    private static readonly Jid s_proxy = Jid.Parse("proxy.example.test");

    [Fact]
    public async Task The_built_in_proxy_relays_a_socks5_pair_activated_by_the_requester()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        var dstAddr = Socks5Address.Compute("sid-1", alice.BoundJid.ToString(), bob.BoundJid.ToString());
        using var target = await Socks5ConnectAsync(harness, dstAddr);
        using var requester = await Socks5ConnectAsync(harness, dstAddr);

        var byTarget = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => bob.SendIqAsync(Activation("sid-1", bob.BoundJid)).WaitAsync(ServerHarness.Cap));
        await alice.SendIqAsync(Activation("sid-1", bob.BoundJid)).WaitAsync(ServerHarness.Cap);
        var payload = RandomNumberGenerator.GetBytes(200_000);
        var sending = requester.SendAsync(payload);
        var received = await ReadExactlyAsync(target, payload.Length);
        await sending.WaitAsync(ServerHarness.Cap);

        Assert.Equal("item-not-found", byTarget.Error.Condition);
        Assert.Equal(payload, received);
        Assert.Equal(1, harness.Server.ProxyMetrics!.Activations);
    }

    [Fact]
    public async Task Activating_with_one_leg_only_is_not_allowed()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        using var target = await Socks5ConnectAsync(harness, Socks5Address.Compute("sid-2", alice.BoundJid.ToString(), bob.BoundJid.ToString()));

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => alice.SendIqAsync(Activation("sid-2", bob.BoundJid)).WaitAsync(ServerHarness.Cap));

        Assert.Equal("not-allowed", ex.Error.Condition);
    }

    [Fact]
    public async Task A_user_over_the_per_user_stream_limit_gets_resource_constraint_until_one_of_its_streams_closes()
    {
        // Not configured: the proxy library's default applies, as in xft proxy.
        Assert.Equal(16, ServerHarness.BaseOptions.ProxyMaxActiveStreamsPerJid);
        await AssertStreamLimitAsync(ServerHarness.BaseOptions, 16);
    }

    [Fact]
    public async Task A_configured_per_user_stream_limit_is_enforced_by_the_built_in_proxy()
    {
        await AssertStreamLimitAsync(ServerHarness.BaseOptions with { ProxyMaxActiveStreamsPerJid = 3 }, 3);
    }

    /// <summary>
    /// Activates <paramref name="limit"/> streams of one user, checks the next is refused with resource-constraint,
    /// closes one and checks the refused one is then accepted.
    /// </summary>
    private static async Task AssertStreamLimitAsync(ServerOptions options, int limit)
    {
        var closed = new LogEventWatcher(StreamClosedEvent);
        await using var harness = await ServerHarness.StartAsync(options with { LoggerFactory = closed });
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        var pairs = new List<(Socket Target, Socket Requester)>();
        try
        {
            for (var i = 0; i <= limit; i++)
            {
                pairs.Add(await ConnectPairAsync(harness, $"cap-{i}", alice.BoundJid, bob.BoundJid));
            }

            for (var i = 0; i < limit; i++)
            {
                await alice.SendIqAsync(Activation($"cap-{i}", bob.BoundJid)).WaitAsync(ServerHarness.Cap);
            }

            var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => alice.SendIqAsync(Activation($"cap-{limit}", bob.BoundJid)).WaitAsync(ServerHarness.Cap));
            pairs[0].Target.Dispose();
            pairs[0].Requester.Dispose();
            await closed.Seen.WaitAsync(ServerHarness.Cap);
            await alice.SendIqAsync(Activation($"cap-{limit}", bob.BoundJid)).WaitAsync(ServerHarness.Cap);

            Assert.Equal(("resource-constraint", StanzaErrorType.Wait), (refused.Error.Condition, refused.Error.Type));
            Assert.Equal(1, harness.Server.ProxyMetrics!.GetActivationRefusals(ProxyActivationRefusal.StreamLimit));
            Assert.Equal(limit + 1, harness.Server.ProxyMetrics.Activations);
        }
        finally
        {
            foreach (var (target, requester) in pairs)
            {
                target.Dispose();
                requester.Dispose();
            }
        }
    }

    [Fact]
    public async Task Users_of_another_domain_and_the_component_itself_are_forbidden_to_use_the_built_in_proxy()
    {
        await using var harness = await ServerHarness.StartAsync();
        await using var component = new XmppComponent(new XmppComponentOptions
        {
            Jid = Jid.Parse("comp.example.test"),
            Secret = "component-secret",
            Host = "127.0.0.1",
            Port = harness.Server.ComponentEndPoint!.Port,
        });
        await component.ConnectAsync().WaitAsync(ServerHarness.Cap);
        var bob = await harness.ConnectAsync("bob", "tgt");
        var addressQuery = Stanza.MakeIq(IqType.Get, s_proxy, new XElement(XName.Get("query", Namespaces.Bytestreams)));
        addressQuery.SetAttributeValue("from", "mallory@comp.example.test/x");
        var activation = Activation("sid-f", bob.BoundJid);
        activation.SetAttributeValue("from", "mallory@comp.example.test/x");
        var asComponent = Stanza.MakeIq(IqType.Get, s_proxy, new XElement(XName.Get("query", Namespaces.Bytestreams)));

        var query = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => component.SendIqAsync(addressQuery).WaitAsync(ServerHarness.Cap));
        var activate = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => component.SendIqAsync(activation).WaitAsync(ServerHarness.Cap));
        var domainOnly = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => component.SendIqAsync(asComponent).WaitAsync(ServerHarness.Cap));

        Assert.Equal(("forbidden", StanzaErrorType.Auth), (query.Error.Condition, query.Error.Type));
        Assert.Equal(("forbidden", StanzaErrorType.Auth), (activate.Error.Condition, activate.Error.Type));
        Assert.Equal(("forbidden", StanzaErrorType.Auth), (domainOnly.Error.Condition, domainOnly.Error.Type));
        Assert.Equal(3, harness.Server.ProxyMetrics!.GetActivationRefusals(ProxyActivationRefusal.Forbidden));
        Assert.Equal(0, harness.Server.ProxyMetrics.AddressQueries);
    }

    [Fact]
    public async Task The_address_query_echoes_a_sid_and_is_counted()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");

        var answer = await alice.SendIqAsync(Stanza.MakeIq(
            IqType.Get,
            s_proxy,
            new XElement(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", "old-client-sid")))).WaitAsync(ServerHarness.Cap);

        var query = answer.Element(XName.Get("query", Namespaces.Bytestreams))!;
        Assert.Equal("old-client-sid", (string?)query.Attribute("sid"));
        var host = Assert.Single(query.Elements(XName.Get("streamhost", Namespaces.Bytestreams)));
        Assert.Equal("proxy.example.test", (string?)host.Attribute("jid"));
        Assert.Equal(1, harness.Server.ProxyMetrics!.AddressQueries);
    }

    [Fact]
    public async Task Activation_also_tries_the_target_as_sent_when_the_peers_hashed_an_unprepped_jid()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        const string AsSent = "BOB@example.test/tgt";
        var dstAddr = Socks5Address.Compute("sid-u", alice.BoundJid.ToString(), AsSent);
        using var target = await Socks5ConnectAsync(harness, dstAddr);
        using var requester = await Socks5ConnectAsync(harness, dstAddr);

        var result = await alice.SendIqAsync(Stanza.MakeIq(
            IqType.Set,
            s_proxy,
            new XElement(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", "sid-u"), new XElement(XName.Get("activate", Namespaces.Bytestreams), AsSent)))).WaitAsync(ServerHarness.Cap);
        var payload = RandomNumberGenerator.GetBytes(10_000);
        var sending = requester.SendAsync(payload);
        var received = await ReadExactlyAsync(target, payload.Length);
        await sending.WaitAsync(ServerHarness.Cap);

        Assert.Equal("result", (string?)result.Attribute("type"));
        Assert.Equal(payload, received);
        Assert.Equal(1, harness.Server.ProxyMetrics!.Activations);
    }

    private static async Task<(Socket Target, Socket Requester)> ConnectPairAsync(ServerHarness harness, string sid, Jid requester, Jid target)
    {
        var dstAddr = Socks5Address.Compute(sid, requester.ToString(), target.ToString());
        var targetLeg = await Socks5ConnectAsync(harness, dstAddr);
        try
        {
            return (targetLeg, await Socks5ConnectAsync(harness, dstAddr));
        }
        catch
        {
            targetLeg.Dispose();
            throw;
        }
    }

    private static XElement Activation(string sid, Jid target) => Stanza.MakeIq(
        IqType.Set,
        s_proxy,
        new XElement(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", sid), new XElement(XName.Get("activate", Namespaces.Bytestreams), target.ToString())));

    private static async Task<Socket> Socks5ConnectAsync(ServerHarness harness, string dstAddr)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(harness.Server.ProxyEndPoint!).WaitAsync(ServerHarness.Cap);

        // +----+----------+----------+      +----+--------+
        // |VER | NMETHODS | METHODS  |  →   |VER | METHOD |
        // | 05 |    01    |    00    |  ←   | 05 |   00   |
        await socket.SendAsync(new byte[] { 5, 1, 0 });
        Assert.Equal(new byte[] { 5, 0 }, await ReadExactlyAsync(socket, 2));

        // +----+-----+-------+------+----------+----------+
        // |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |   ATYP 03, length 40, hex SHA-1; port 0
        var request = new List<byte> { 5, 1, 0, 3, 40 };
        request.AddRange(Encoding.ASCII.GetBytes(dstAddr));
        request.AddRange(new byte[] { 0, 0 });
        await socket.SendAsync(request.ToArray());
        var reply = await ReadExactlyAsync(socket, 4 + 1 + 40 + 2);
        Assert.Equal(0, reply[1]);
        return socket;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(ServerHarness.Cap);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }
}
