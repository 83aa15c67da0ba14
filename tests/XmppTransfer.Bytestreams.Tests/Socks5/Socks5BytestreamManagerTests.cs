using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>The manager against a hand-written peer through the loopback router.</summary>
public sealed class Socks5BytestreamManagerTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private Socks5BytestreamManager _aliceS5b = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceS5b = new Socks5BytestreamManager(s_loopback);
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceS5b));
        _bob = await _router.ConnectAsync("bob");
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
    }

    [Fact]
    public async Task The_target_connects_with_the_hash_of_sid_and_both_bound_full_jids_and_the_requester_gets_the_direct_stream()
    {
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, async (iq, ct) =>
        {
            var offer = BytestreamsQuery.Parse(iq.Element(BytestreamsQuery.Name)!);
            var host = Assert.Single(offer.StreamHosts);
            Assert.Equal(_alice.BoundJid, host.Jid);
            var hash = Socks5Address.Compute("sid1", _alice.BoundJid.ToString(), _bob.BoundJid.ToString());
            var stream = await Bytestreams.Socks5.Internal.Socks5Dialer.ConnectAsync(host.Host, host.Port, hash, s_cap, 0, ct);
            _ = Task.Run(async () =>
            {
                await using (stream)
                {
                    await stream.WriteAsync("hi"u8.ToArray(), ct);
                }
            }, ct);
            return BytestreamsQuery.Used("sid1", host.Jid).ToXml();
        });

        await using var bytestream = await _aliceS5b.ConnectAsync(_bob.BoundJid, "sid1", Ct).WaitAsync(s_cap, Ct);
        var buffer = new byte[2];
        await bytestream.Stream.ReadExactlyAsync(buffer, Ct).AsTask().WaitAsync(s_cap, Ct);

        Assert.False(bytestream.ViaProxy);
        Assert.Equal("hi"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task A_streamhost_used_we_never_offered_is_an_error()
    {
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, (_, _) =>
            ValueTask.FromResult<XElement?>(BytestreamsQuery.Used("sid2", Jid.Parse("evil.example.test")).ToXml()));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _aliceS5b.ConnectAsync(_bob.BoundJid, "sid2", Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
    }

    [Fact]
    public async Task An_item_not_found_answer_fails_the_requester_with_refused()
    {
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, (_, _) => throw new XmppStanzaErrorException(StanzaError.ItemNotFound()));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _aliceS5b.ConnectAsync(_bob.BoundJid, "sid3", Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
    }

    [Theory]
    [InlineData("<query xmlns='http://jabber.org/protocol/bytestreams'><streamhost jid='x.example' host='127.0.0.1' port='1'/></query>", "bad-request")]
    [InlineData("<query xmlns='http://jabber.org/protocol/bytestreams' sid='s' mode='udp'><streamhost jid='x.example' host='127.0.0.1' port='1'/></query>", "not-acceptable")]
    [InlineData("<query xmlns='http://jabber.org/protocol/bytestreams' sid='unexpected'><streamhost jid='x.example' host='127.0.0.1' port='1'/></query>", "not-acceptable")]
    public async Task The_target_validates_offers(string query, string condition)
    {
        var bobS5b = new Socks5BytestreamManager(s_loopback);
        _bob.AddExtension(bobS5b);
        _ = bobS5b.Expect(_alice.BoundJid, "s");

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, XElement.Parse(query)), cancellationToken: Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(condition, ex.Error.Condition);
    }

    [Fact]
    public async Task An_offer_without_streamhosts_fails_the_expected_session_with_a_reason_that_does_not_repeat_the_sender()
    {
        var bobS5b = new Socks5BytestreamManager(s_loopback);
        _bob.AddExtension(bobS5b);
        var registration = bobS5b.Expect(_alice.BoundJid, "s");
        var query = "<query xmlns='http://jabber.org/protocol/bytestreams' sid='s'/>";

        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, XElement.Parse(query)), cancellationToken: Ct).WaitAsync(s_cap, Ct));
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => bobS5b.WaitExpectedAsync(_alice.BoundJid, "s", registration, Ct).WaitAsync(s_cap, Ct));

        // Whoever waits names the sender already ("a.bin from JID: ..."): the reason must not start with it again.
        Assert.Equal("item-not-found", refused.Error.Condition);
        Assert.Equal("The SOCKS5 offer lists no streamhost.", ex.Message);
    }

    [Fact]
    public async Task A_taken_listening_port_without_a_proxy_fails_with_the_port_and_raises_direct_listen_failed()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var requester = new Socks5BytestreamManager(s_loopback with { MinPort = port, MaxPort = port });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(requester));
        var raised = new List<BytestreamException>();
        requester.DirectListenFailed += raised.Add;

        // Bob is not a target here: told there is no streamhost, he answers with an error, which is all the courtesy asks.
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => requester.ConnectAsync(_bob.BoundJid, "taken", Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Equal($"Cannot listen for direct SOCKS5 connections on port {port}: AddressAlreadyInUse.", ex.Message);
        Assert.Equal(SocketError.AddressAlreadyInUse, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
        Assert.Same(ex, Assert.Single(raised));
    }

    [Fact]
    public async Task A_taken_listening_port_with_a_proxy_offers_the_proxy_alone_and_raises_direct_listen_failed()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        // Bob plays both parts: the proxy (its address query answers one streamhost) and the target, which records the
        // streamhosts it is offered and refuses them.
        var proxyHost = new StreamHost(_bob.BoundJid, "127.0.0.1", 1);
        var offered = new TaskCompletionSource<IReadOnlyList<StreamHost>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Get, (_, _) =>
            ValueTask.FromResult<XElement?>(new XElement(BytestreamsQuery.Name, proxyHost.ToXml())));
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, (iq, _) =>
        {
            offered.TrySetResult(BytestreamsQuery.Parse(iq.Element(BytestreamsQuery.Name)!).StreamHosts);
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound());
        });
        var requester = new Socks5BytestreamManager(s_loopback with { MinPort = port, MaxPort = port, Proxies = [_bob.BoundJid] });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(requester));
        var raised = 0;
        requester.DirectListenFailed += _ => Interlocked.Increment(ref raised);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => requester.ConnectAsync(_bob.BoundJid, "proxied", Ct).WaitAsync(s_cap, Ct));

        var host = Assert.Single(await offered.Task.WaitAsync(s_cap, Ct));
        Assert.Equal(_bob.BoundJid, host.Jid);
        Assert.Equal(1, Volatile.Read(ref raised));
        Assert.DoesNotContain("Cannot listen", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_target_answers_item_not_found_when_no_streamhost_works()
    {
        var bobS5b = new Socks5BytestreamManager(s_loopback);
        _bob.AddExtension(bobS5b);
        var registration = bobS5b.Expect(_alice.BoundJid, "s");
        var query = "<query xmlns='http://jabber.org/protocol/bytestreams' sid='s'><streamhost jid='x.example' host='127.0.0.1' port='1'/></query>";

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, XElement.Parse(query)), cancellationToken: Ct).WaitAsync(s_cap, Ct));

        Assert.Equal("item-not-found", ex.Error.Condition);
        await Assert.ThrowsAsync<BytestreamException>(() => bobS5b.WaitExpectedAsync(_alice.BoundJid, "s", registration, Ct).WaitAsync(s_cap, Ct));
    }

    [Fact]
    public async Task The_target_tries_only_the_first_sixteen_streamhosts_of_an_offer()
    {
        var bobS5b = new Socks5BytestreamManager(s_loopback with { ProxyConnectTimeout = TimeSpan.FromSeconds(1) });
        _bob.AddExtension(bobS5b);
        var registration = bobS5b.Expect(_alice.BoundJid, "many");
        using var sixteenth = Listen();
        using var seventeenth = Listen();
        using var closed = new RefusingPort();
        var ports = Enumerable.Repeat(closed.Port, 15).Append(Port(sixteenth)).Append(Port(seventeenth)).Concat(Enumerable.Repeat(closed.Port, 1000));
        var query = new XElement(
            BytestreamsQuery.Name,
            new XAttribute("sid", "many"),
            ports.Select(port => new XElement(
                StreamHost.Name, new XAttribute("jid", "proxy.example.test"), new XAttribute("host", "127.0.0.1"), new XAttribute("port", port))));

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, query), cancellationToken: Ct).WaitAsync(s_cap, Ct));

        // The race has ended: a connection it made is waiting in the listener's backlog.
        Assert.Equal("item-not-found", ex.Error.Condition);
        Assert.Equal(16, Socks5BytestreamManager.MaxCandidates);
        Assert.True(sixteenth.Poll(0, SelectMode.SelectRead), "the 16th streamhost was tried");
        Assert.False(seventeenth.Poll(0, SelectMode.SelectRead), "the 17th streamhost was not tried");
        await Assert.ThrowsAsync<BytestreamException>(() => bobS5b.WaitExpectedAsync(_alice.BoundJid, "many", registration, Ct).WaitAsync(s_cap, Ct));
    }

    private static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(4);
        return socket;
    }

    private static int Port(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;
}
