using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// Our own session ending (the server drops our connection, and tells nobody): the target's waits that need the session end
/// at once; a SOCKS5 bytestream already set up is a TCP connection of its own and keeps flowing.
/// </summary>
public sealed class Socks5SessionEndTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private Socks5Pair _pair = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _pair = await Socks5Pair.StartAsync(Socks5Pair.Slow);

    public ValueTask DisposeAsync() => _pair.DisposeAsync();

    [Fact]
    public async Task A_target_waiting_for_the_offer_fails_at_once_as_closed_when_its_own_session_drops()
    {
        var registration = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "wait");
        var waiting = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "wait", registration, Ct);

        await DropAsync(_pair.Bob);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => waiting.WaitAsync(s_cap, Ct));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("before " + _pair.Alice.BoundJid + " offered SOCKS5 streamhosts", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_racing_the_candidates_fails_at_once_as_closed_when_its_own_session_drops()
    {
        // A streamhost that takes the TCP connection and never answers the SOCKS5 greeting: the race hangs on it.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var registration = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "race");
        var waiting = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "race", registration, Ct);
        var query = $"<query xmlns='http://jabber.org/protocol/bytestreams' sid='race'><streamhost jid='proxy.example.test' host='127.0.0.1' port='{port}'/></query>";
        var offer = _pair.Alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _pair.Bob.BoundJid, XElement.Parse(query)), cancellationToken: Ct);
        using var held = await silent.AcceptSocketAsync(Ct).AsTask().WaitAsync(s_cap, Ct);

        await DropAsync(_pair.Bob);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => waiting.WaitAsync(s_cap, Ct));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("before the SOCKS5 bytestream from " + _pair.Alice.BoundJid + " was set up", ex.Message, StringComparison.Ordinal);

        // Alice's offer is never answered (bob is gone, unannounced): ended by her own dispose.
        _ = offer.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    [Fact]
    public async Task A_bytestream_already_set_up_keeps_flowing_after_either_session_drops()
    {
        var registration = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "flow");
        var targetSide = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "flow", registration, Ct);
        await using var requester = await _pair.AliceS5b.ConnectAsync(_pair.Bob.BoundJid, "flow", Ct).WaitAsync(s_cap, Ct);
        await using var target = await targetSide.WaitAsync(s_cap, Ct);

        await DropAsync(_pair.Alice);
        await DropAsync(_pair.Bob);

        await requester.Stream.WriteAsync("after"u8.ToArray(), Ct).AsTask().WaitAsync(s_cap, Ct);
        var received = new byte[5];
        await target.Stream.ReadExactlyAsync(received, Ct).AsTask().WaitAsync(s_cap, Ct);
        Assert.Equal("after"u8.ToArray(), received);
    }

    [Fact]
    public async Task Expectations_nobody_waits_for_are_removed_as_well_as_failed_when_our_own_session_drops()
    {
        var before = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "unwaited");

        await DropAsync(_pair.Bob);
        var after = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "late");

        Assert.Equal(BytestreamErrorKind.Closed, (await Assert.ThrowsAsync<BytestreamException>(() => before.WaitAsync(s_cap, Ct))).ErrorKind);
        Assert.Equal(BytestreamErrorKind.Closed, (await Assert.ThrowsAsync<BytestreamException>(() => after.WaitAsync(s_cap, Ct))).ErrorKind);
        Assert.Equal(0, _pair.BobS5b.ExpectedCount);
    }

    /// <summary>Drops <paramref name="client"/>'s connection without telling anyone, and waits until its session has noticed.</summary>
    private async Task DropAsync(XmppClient client)
    {
        await _pair.Router.DisconnectAsync(client.BoundJid, announce: false).WaitAsync(s_cap, Ct);
        await Assert.ThrowsAnyAsync<XmppException>(() => client.Completion.WaitAsync(s_cap, Ct));
    }
}
