using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Internal;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

public sealed class CandidateRacerTests
{
    private const string Hash = "416781edf1ae50bad01cb8509ba35b43952bc345";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(20);
    private static readonly Jid s_requester = Jid.Parse("alice@example.test/a");
    private static readonly Jid s_proxy = Jid.Parse("proxy.example.test");
    private static readonly Socks5BytestreamOptions s_listener = new() { ListenerHandshakeTimeout = s_cap };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_silent_first_candidate_does_not_hold_up_the_second_beyond_the_stagger()
    {
        // The first streamhost accepts TCP but never answers the greeting; the second is a working listener of ours.
        using var silent = Listen();
        await using var listener = DirectListener.Start([IPAddress.Loopback], s_listener, NullLogger.Instance);
        using var registration = listener.Register(Hash);
        StreamHost[] candidates =
        [
            new(s_proxy, "127.0.0.1", ((IPEndPoint)silent.LocalEndPoint!).Port),
            new(s_requester, "127.0.0.1", listener.EndPoints[0].Port),
        ];

        var clock = Stopwatch.StartNew();
        var winner = await CandidateRacer.RaceAsync(candidates, Hash, _ => TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), s_cap, 0, Ct)
            .WaitAsync(s_cap, Ct);
        await using var stream = winner.Stream;

        Assert.Equal(s_requester, winner.Host.Jid);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await using var accepted = await registration.Connected.WaitAsync(s_cap, Ct);
    }

    [Fact]
    public async Task A_refused_first_candidate_lets_the_next_start_at_once()
    {
        using var closed = new RefusingPort();
        await using var listener = DirectListener.Start([IPAddress.Loopback], s_listener, NullLogger.Instance);
        using var registration = listener.Register(Hash);
        StreamHost[] candidates = [new(s_proxy, "127.0.0.1", closed.Port), new(s_requester, "127.0.0.1", listener.EndPoints[0].Port)];

        // A huge stagger: only the failure of the first can start the second in time.
        var winner = await CandidateRacer.RaceAsync(candidates, Hash, _ => TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), s_cap, 0, Ct)
            .WaitAsync(s_cap, Ct);
        await using var stream = winner.Stream;

        Assert.Equal(s_requester, winner.Host.Jid);
    }

    [Fact]
    public async Task When_no_candidate_works_the_race_fails_with_every_reason()
    {
        using var closed1 = new RefusingPort();
        using var closed2 = new RefusingPort();
        StreamHost[] candidates = [new(s_proxy, "127.0.0.1", closed1.Port), new(s_requester, "127.0.0.1", closed2.Port)];

        var ex = await Assert.ThrowsAsync<BytestreamException>(
            () => CandidateRacer.RaceAsync(candidates, Hash, _ => TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50), s_cap, 0, Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains(s_proxy.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(s_requester.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Our_listener_refuses_a_connect_with_a_hash_it_does_not_expect_with_rep_02()
    {
        await using var listener = DirectListener.Start([IPAddress.Loopback], s_listener, NullLogger.Instance);
        using var registration = listener.Register(Hash);
        var wrong = new string('0', 40);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => Socks5Dialer.ConnectAsync(
            "127.0.0.1", listener.EndPoints[0].Port, wrong, s_cap, 0, Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("0x02", ex.Message, StringComparison.Ordinal);
        Assert.False(registration.Connected.IsCompleted);
    }

    [Fact]
    public async Task Only_the_first_connection_for_a_hash_is_accepted()
    {
        await using var listener = DirectListener.Start([IPAddress.Loopback], s_listener, NullLogger.Instance);
        using var registration = listener.Register(Hash);
        var port = listener.EndPoints[0].Port;

        await using var first = await Socks5Dialer.ConnectAsync("127.0.0.1", port, Hash, s_cap, 0, Ct).WaitAsync(s_cap, Ct);
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => Socks5Dialer.ConnectAsync("127.0.0.1", port, Hash, s_cap, 0, Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.True(registration.Connected.IsCompletedSuccessfully);
    }

    private static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(4);
        return socket;
    }
}
