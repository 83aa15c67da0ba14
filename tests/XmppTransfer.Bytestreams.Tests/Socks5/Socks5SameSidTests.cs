using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// One sid, one negotiation per pair: what a second registration or negotiation for the same peer and sid does to the
/// first, on both sides.
/// </summary>
public sealed class Socks5SameSidTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };

    private Socks5Pair _pair = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _pair = await Socks5Pair.StartAsync(s_loopback);

    public ValueTask DisposeAsync() => _pair.DisposeAsync();

    [Fact]
    public async Task A_newer_expectation_for_the_same_sid_ends_the_older_wait_at_once_and_the_older_ones_cleanup_leaves_it_usable()
    {
        var older = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "again");
        var newer = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "again");
        var olderWait = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "again", older, Ct);

        // Replaced, the older wait could never be answered: it ends at once instead of waiting on.
        var replaced = await Assert.ThrowsAsync<BytestreamException>(() => olderWait.WaitAsync(s_cap, Ct));
        Assert.Equal(BytestreamErrorKind.Cancelled, replaced.ErrorKind);
        Assert.Contains("replaced this one", replaced.Message, StringComparison.Ordinal);

        // The older waiter's cleanup took nothing of the newer registration: it is still there, still pending, and the
        // requester's offer for the sid is accepted through it.
        Assert.Equal(1, _pair.BobS5b.ExpectedCount);
        Assert.False(newer.IsCompleted);
        var newerWait = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "again", newer, Ct);
        await using var sent = await _pair.AliceS5b.ConnectAsync(_pair.Bob.BoundJid, "again", Ct).WaitAsync(s_cap, Ct);
        await using var received = await newerWait.WaitAsync(s_cap, Ct);
        await sent.Stream.WriteAsync("ok"u8.ToArray(), Ct).AsTask().WaitAsync(s_cap, Ct);
        var buffer = new byte[2];
        await received.Stream.ReadExactlyAsync(buffer, Ct).AsTask().WaitAsync(s_cap, Ct);

        Assert.Equal("ok"u8.ToArray(), buffer);
        Assert.Equal(0, _pair.BobS5b.ExpectedCount);
    }

    [Fact]
    public async Task A_second_direct_negotiation_with_the_same_target_and_sid_is_refused_at_once_and_the_first_goes_on()
    {
        // Bob is scripted by hand (no target manager): he holds the first offer until told, then connects to Alice's direct
        // streamhost and answers streamhost-used.
        await using var carol = await _pair.Router.ConnectAsync("carol");
        var offers = 0;
        var offered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        carol.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, async (iq, ct) =>
        {
            if (Interlocked.Increment(ref offers) > 1)
            {
                // A retry after the first ended.
                throw new XmppStanzaErrorException(StanzaError.ItemNotFound());
            }

            offered.TrySetResult();
            await answer.Task.WaitAsync(s_cap, ct);
            var host = Assert.Single(BytestreamsQuery.Parse(iq.Element(BytestreamsQuery.Name)!).StreamHosts);
            var hash = Socks5Address.Compute("twice", _pair.Alice.BoundJid.ToString(), carol.BoundJid.ToString());
            var stream = await Bytestreams.Socks5.Internal.Socks5Dialer.ConnectAsync(host.Host, host.Port, hash, s_cap, 0, ct);
            await stream.DisposeAsync();
            return BytestreamsQuery.Used("twice", host.Jid).ToXml();
        });

        var first = _pair.AliceS5b.ConnectAsync(carol.BoundJid, "twice", Ct);
        await offered.Task.WaitAsync(s_cap, Ct);
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _pair.AliceS5b.ConnectAsync(carol.BoundJid, "twice", Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("already running", ex.Message, StringComparison.Ordinal);
        Assert.False(first.IsCompleted);

        answer.SetResult();
        await using var bytestream = await first.WaitAsync(s_cap, Ct);
        Assert.False(bytestream.ViaProxy);
        Assert.Equal(1, Volatile.Read(ref offers));

        // Once the first has ended, the pair and sid are free again: a retry is offered (Carol refuses it).
        var retry = await Assert.ThrowsAsync<BytestreamException>(() => _pair.AliceS5b.ConnectAsync(carol.BoundJid, "twice", Ct).WaitAsync(s_cap, Ct));
        Assert.DoesNotContain("already running", retry.Message, StringComparison.Ordinal);
        Assert.Equal(2, Volatile.Read(ref offers));
    }

    [Fact]
    public async Task The_targets_bytestream_hears_the_requesters_unavailable_presence_and_drops_its_watch_on_dispose()
    {
        var registration = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "watched");
        var waiting = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "watched", registration, Ct);
        await using var sent = await _pair.AliceS5b.ConnectAsync(_pair.Bob.BoundJid, "watched", Ct).WaitAsync(s_cap, Ct);
        var received = await waiting.WaitAsync(s_cap, Ct);
        Assert.False(received.PeerUnavailable.IsCancellationRequested);

        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registered = received.PeerUnavailable.Register(() => heard.TrySetResult());
        _pair.Router.Deliver(_pair.Bob.BoundJid, new XElement(Stanza.Presence, new XAttribute("from", _pair.Alice.BoundJid.ToString()), new XAttribute("type", "unavailable")));
        await heard.Task.WaitAsync(s_cap, Ct);

        // Only a hint: the connection itself is left open.
        await sent.Stream.WriteAsync("!"u8.ToArray(), Ct).AsTask().WaitAsync(s_cap, Ct);
        var buffer = new byte[1];
        await received.Stream.ReadExactlyAsync(buffer, Ct).AsTask().WaitAsync(s_cap, Ct);
        Assert.Equal((byte)'!', buffer[0]);

        await received.DisposeAsync();
        Assert.Equal(0, _pair.BobS5b.WatchCount);
    }
}
