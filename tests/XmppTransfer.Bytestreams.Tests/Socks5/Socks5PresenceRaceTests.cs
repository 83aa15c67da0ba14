using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// The requester's watch of the target's presence: what its unavailable presence ends, and what it must leave alone (an
/// answer read before it, a retry with the same target and sid).
/// </summary>
public sealed class Socks5PresenceRaceTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    /// <summary>Negotiation far beyond the cap: only the presence can end a wait in time.</summary>
    private static readonly Socks5BytestreamOptions s_slow = new()
    {
        LoopbackOnly = true,
        Hosts = ["127.0.0.1"],
        DiscoverProxies = false,
        NegotiationTimeout = TimeSpan.FromMinutes(10),
    };

    private LoopbackRouter _router = null!;
    private XmppClient _bob = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _bob = await _router.ConnectAsync("bob");
    }

    public async ValueTask DisposeAsync()
    {
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
    }

    [Fact]
    public async Task A_proxy_streamhost_used_read_before_the_targets_unavailable_presence_is_activated_and_returned()
    {
        // The proxy: a SOCKS5 listener of our own that accepts the requester's connect, and carol answering its activation.
        using var socks = new TcpListener(IPAddress.Loopback, 0);
        socks.Start();
        var port = ((IPEndPoint)socks.LocalEndpoint).Port;
        await using var carol = await _router.ConnectAsync("carol");
        var proxy = new StreamHost(carol.BoundJid, "127.0.0.1", port);
        var activated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        carol.RegisterIqHandler(BytestreamsQuery.Name, IqType.Get, (_, _) =>
            ValueTask.FromResult<XElement?>(new XElement(BytestreamsQuery.Name, proxy.ToXml())));
        carol.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, (_, _) =>
        {
            activated.TrySetResult();
            return ValueTask.FromResult<XElement?>(null);
        });
        var proxySide = AcceptOneAsync(socks);

        // The target answers streamhost-used for the proxy, and its unavailable presence follows right behind the answer,
        // read in the same go (as when it exits as soon as it answered).
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, (_, _) =>
            ValueTask.FromResult<XElement?>(BytestreamsQuery.Used("proxied", carol.BoundJid).ToXml()));
        var requester = new Socks5BytestreamManager(s_slow with { DirectCandidates = false, Proxies = [carol.BoundJid] });
        await using var alice = await _router.ConnectAsync("alice", c => c.AddExtension(requester));
        var bob = _bob.BoundJid;
        _router.Intercept = stanza =>
        {
            if (stanza.Name == Stanza.Iq && (string?)stanza.Attribute("type") == "result" && (string?)stanza.Attribute("from") == bob.ToString()
                && stanza.Element(BytestreamsQuery.Name) is not null)
            {
                _router.Deliver(alice.BoundJid, stanza, new XElement(Stanza.Presence, new XAttribute("from", bob.ToString()), new XAttribute("type", "unavailable")));
                return null;
            }

            return stanza;
        };

        await using var bytestream = await requester.ConnectAsync(bob, "proxied", Ct).WaitAsync(s_cap, Ct);

        Assert.True(bytestream.ViaProxy);
        await activated.Task.WaitAsync(s_cap, Ct);

        // The target's leaving is the data phase's to handle: the bytestream says so from the start.
        Assert.True(bytestream.PeerUnavailable.IsCancellationRequested);
        using var held = await proxySide.WaitAsync(s_cap, Ct);
    }

    [Fact]
    public async Task A_negotiation_and_a_retry_for_the_same_target_and_sid_each_end_at_once_on_its_unavailable_presence()
    {
        // The target never answers the first offer: only its presence can end that wait within the cap. A second
        // negotiation while the first runs is refused up front (one sid, one negotiation per pair); so the retry comes after
        // the first ended, and its watch must be its own.
        var offers = 0;
        var offered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reoffered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, async (_, ct) =>
        {
            (Interlocked.Increment(ref offers) == 1 ? offered : reoffered).TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        });
        // Proxy-only offers (carol's address is never dialled).
        await using var carol = await _router.ConnectAsync("carol");
        carol.RegisterIqHandler(BytestreamsQuery.Name, IqType.Get, (_, _) =>
            ValueTask.FromResult<XElement?>(new XElement(BytestreamsQuery.Name, new StreamHost(carol.BoundJid, "127.0.0.1", 1).ToXml())));
        var requester = new Socks5BytestreamManager(s_slow with { DirectCandidates = false, Proxies = [carol.BoundJid] });
        await using var alice = await _router.ConnectAsync("alice", c => c.AddExtension(requester));

        var first = requester.ConnectAsync(_bob.BoundJid, "twice", Ct);
        await offered.Task.WaitAsync(s_cap, Ct);
        var clash = await Assert.ThrowsAsync<BytestreamException>(() => requester.ConnectAsync(_bob.BoundJid, "twice", Ct).WaitAsync(s_cap, Ct));
        _router.Deliver(alice.BoundJid, new XElement(Stanza.Presence, new XAttribute("from", _bob.BoundJid.ToString()), new XAttribute("type", "unavailable")));
        var one = await Assert.ThrowsAsync<BytestreamException>(() => first.WaitAsync(s_cap, Ct));

        var retry = requester.ConnectAsync(_bob.BoundJid, "twice", Ct);
        await reoffered.Task.WaitAsync(s_cap, Ct);
        await _router.DisconnectAsync(_bob.BoundJid, announce: true).WaitAsync(s_cap, Ct);
        var two = await Assert.ThrowsAsync<BytestreamException>(() => retry.WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, clash.ErrorKind);
        Assert.Equal(BytestreamErrorKind.Closed, one.ErrorKind);
        Assert.Equal(BytestreamErrorKind.Closed, two.ErrorKind);

        // Each negotiation removed (and disposed) its own watch; the refused one never made one.
        Assert.Equal(0, requester.WatchCount);
    }

    /// <summary>Accepts one SOCKS5 client and answers its connect with success; the socket is kept open for the test.</summary>
    private static async Task<Socket> AcceptOneAsync(TcpListener listener)
    {
        var socket = await listener.AcceptSocketAsync(Ct);
        var stream = new NetworkStream(socket, ownsSocket: false);
        var dstAddr = await Socks5ServerHandshake.AcceptAsync(stream, s_cap, TimeProvider.System, Ct);
        await Socks5ServerHandshake.SendReplyAsync(stream, Socks5ReplyCode.Succeeded, dstAddr, Ct);
        return socket;
    }
}
