using System.Net;
using System.Net.Sockets;
using System.Text;
using XmppTransfer.Testing;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

public sealed class Socks5ProxyLimitsTests
{
    private static readonly TimeSpan s_short = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Connections_beyond_the_per_address_cap_are_closed_at_once()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { MaxConnectionsPerAddress = 2 });
        using Socket first = await harness.ConnectLegAsync(NewHash());
        using Socket second = await harness.ConnectLegAsync(NewHash());

        using Socket third = await harness.ConnectAsync();
        await WaitClosedAsync(third);

        Assert.Equal(1, harness.Metrics.GetRefusals(ProxyRefusalReason.PerAddressLimit));
        using Socket otherAddress = await harness.ConnectLegAsync(NewHash(), IPAddress.Parse("127.0.0.2"));
    }

    [Fact]
    public async Task Connections_beyond_the_total_cap_are_closed_at_once()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { MaxConnections = 2 });
        using Socket first = await harness.ConnectLegAsync(NewHash());
        using Socket second = await harness.ConnectLegAsync(NewHash(), IPAddress.Parse("127.0.0.2"));

        using Socket third = await harness.ConnectAsync(IPAddress.Parse("127.0.0.3"));
        await WaitClosedAsync(third);

        Assert.Equal(1, harness.Metrics.GetRefusals(ProxyRefusalReason.TotalConnectionLimit));
    }

    [Fact]
    public async Task Slowloris_handshake_is_cut_at_the_handshake_timeout()
    {
        // The deadline runs on the proxy's clock, which moves 100 ms per byte sent, however slow the machine: the reads
        // make progress, the whole handshake never finishes in time, and the cut comes at the timeout, not before.
        ManualTimeProvider clock = new(manualTimers: true);
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { HandshakeTimeout = s_short, TimeProvider = clock });
        using Socket slow = await harness.ConnectAsync();
        Task closed = WaitClosedAsync(slow);
        await clock.WhenTimerArmedAsync().WaitAsync(TestTimeout, Ct);
        Assert.Equal(s_short, clock.NextTimerDue);

        byte[] handshake = [0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x03, 0x28, .. Encoding.ASCII.GetBytes(NewHash()), 0x00, 0x00];
        TimeSpan step = TimeSpan.FromMilliseconds(100);
        for (int i = 0; i < 3; i++)
        {
            await slow.SendAsync(handshake.AsMemory(i, 1), SocketFlags.None, Ct).AsTask().WaitAsync(TestTimeout, Ct);
            clock.Advance(i < 2 ? step : step - TimeSpan.FromMilliseconds(1));
        }

        Assert.False(closed.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        await closed.WaitAsync(TestTimeout, Ct);
        Assert.Equal(1, harness.Metrics.HandshakeFailures);
    }

    [Fact]
    public async Task Garbage_handshake_is_closed_and_counted_as_a_handshake_failure()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        using Socket garbage = await harness.ConnectAsync();

        await SendAsync(garbage, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: proxy\r\n\r\n"));
        await WaitClosedAsync(garbage);

        Assert.Equal(1, harness.Metrics.HandshakeFailures);
        Assert.Equal(0, harness.Metrics.OpenConnections);
    }

    [Fact]
    public async Task Lone_leg_is_closed_at_the_unpaired_deadline()
    {
        // The deadline runs on the proxy's clock, which moves only when told: however slow the machine, the leg is not cut
        // before the deadline, and is cut at it. The handshake deadlines on the same clock are an hour away, out of reach.
        ManualTimeProvider clock = new(manualTimers: true);
        TimeSpan unpaired = TimeSpan.FromSeconds(30);
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with
        {
            UnpairedTimeout = unpaired,
            HandshakeTimeout = TimeSpan.FromHours(1),
            TimeProvider = clock,
        });
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);

        // The proxy arms the pair's deadline before it sends the success reply, which ConnectLegAsync has read.
        await clock.WhenTimerArmedAsync().WaitAsync(TestTimeout, Ct);
        Assert.Equal(unpaired, clock.NextTimerDue);
        Task closed = WaitClosedAsync(target);

        // A timer's callback has run once Advance returns: just short of the deadline the leg is still waiting.
        clock.Advance(unpaired - TimeSpan.FromTicks(1));
        Assert.Equal(0, harness.Metrics.GetClosures(ProxyCloseReason.UnpairedTimeout));
        Assert.Equal(ActivationResult.OneLegOnly, harness.Proxy.TryActivate(hash));
        Assert.False(closed.IsCompleted);

        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.UnpairedTimeout));
        await closed;

        Assert.Equal(ActivationResult.NotFound, harness.Proxy.TryActivate(hash));
        Assert.Equal(0, harness.Metrics.PendingPairs);
    }

    [Fact]
    public async Task Pair_never_activated_is_closed_at_the_unactivated_deadline()
    {
        // On the proxy's manual clock: the Requester comes 25 s after the Target, so the pair outlives the Target's unpaired
        // deadline (30 s) and is cut at the unactivated one, counted from pairing (25 + 20 s). The handshake deadlines on the
        // same clock are an hour away, out of reach.
        ManualTimeProvider clock = new(manualTimers: true);
        TimeSpan unactivated = TimeSpan.FromSeconds(20);
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with
        {
            UnpairedTimeout = TimeSpan.FromSeconds(30),
            UnactivatedTimeout = unactivated,
            HandshakeTimeout = TimeSpan.FromHours(1),
            TimeProvider = clock,
        });
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);
        clock.Advance(TimeSpan.FromSeconds(25));
        using Socket requester = await harness.ConnectLegAsync(hash);

        // The proxy re-arms the pair's deadline before it sends the Requester's success reply, which ConnectLegAsync has read.
        await clock.WhenTimerArmedAsync().WaitAsync(TestTimeout, Ct);
        Assert.Equal(unactivated, clock.NextTimerDue);
        Task closed = Task.WhenAll(WaitClosedAsync(target), WaitClosedAsync(requester));

        // A timer's callback has run once Advance returns: just short of the deadline the pair is still waiting.
        clock.Advance(unactivated - TimeSpan.FromTicks(1));
        Assert.Equal(0, harness.Metrics.GetClosures(ProxyCloseReason.UnpairedTimeout));
        Assert.Equal(0, harness.Metrics.GetClosures(ProxyCloseReason.UnactivatedTimeout));
        Assert.Equal(1, harness.Metrics.PendingPairs);
        Assert.False(closed.IsCompleted);

        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.UnactivatedTimeout));
        await closed;

        Assert.Equal(0, harness.Metrics.PendingPairs);
        Assert.Equal(ActivationResult.NotFound, harness.Proxy.TryActivate(hash));
    }

    [Fact]
    public async Task Silent_active_stream_is_closed_at_the_idle_timeout()
    {
        // The clock moves only when told: the ping below cannot lose a race with the idle deadline on a slow machine.
        ManualTimeProvider clock = new(manualTimers: true);
        TimeSpan idle = TimeSpan.FromMinutes(1);
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { IdleTimeout = idle, TimeProvider = clock });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            await SendAsync(requester, Encoding.ASCII.GetBytes("ping"));
            byte[] ping = new byte[4];
            int read = 0;
            while (read < 4)
            {
                int n = await target.ReceiveAsync(ping.AsMemory(read), SocketFlags.None, Ct).AsTask().WaitAsync(TestTimeout, Ct);
                Assert.NotEqual(0, n);
                read += n;
            }

            Task closed = Task.WhenAll(WaitClosedAsync(target), WaitClosedAsync(requester));

            // Just short of the deadline the timer has not fired (nothing else could close the pair); at it, it closes.
            clock.Advance(idle - TimeSpan.FromSeconds(1));
            Assert.False(closed.IsCompleted);
            clock.Advance(TimeSpan.FromSeconds(1));
            await closed;

            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.IdleTimeout));
        }
    }

    [Fact]
    public async Task Stream_exceeding_the_byte_cap_is_closed_after_exactly_the_cap()
    {
        const int Cap = 1024 * 1024;
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { MaxBytesPerStream = Cap });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            Task<(byte[] Data, bool Reset)> received = ReadToEndAsync(target);
            Task send = SendAsync(requester, RandomBytes(4 * Cap));

            (byte[] data, _) = await received.WaitAsync(TestTimeout, Ct);
            await WaitClosedAsync(requester);
            // The sender may or may not have seen the reset, depending on how much the kernel buffered.
            await send.ContinueWith(_ => { }, Ct, TaskContinuationOptions.None, TaskScheduler.Default).WaitAsync(TestTimeout, Ct);

            Assert.True(data.Length <= Cap, $"{data.Length} bytes passed a {Cap}-byte cap");
            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.ByteLimit));
            Assert.Equal(Cap, harness.Metrics.BytesRelayed);
        }
    }

    [Fact]
    public async Task Honest_transfer_completes_while_abusive_connections_are_refused_beside_it()
    {
        // The silent connections keep their slots for the whole test however slow the machine (being cut at the handshake
        // timeout is the slowloris test's subject), so exactly the 26 beyond them are refused.
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with
        {
            MaxConnectionsPerAddress = 4,
            HandshakeTimeout = TestTimeout,
        });
        List<Socket> abusive = [];
        try
        {
            // Silent connections from one address hold its 4 slots; the rest from there are closed at once.
            for (int i = 0; i < 30; i++)
            {
                abusive.Add(await harness.ConnectAsync(IPAddress.Parse("127.0.0.2")));
            }

            // Garbage from another address: each is closed as a failed handshake, before the next is made (else a proxy
            // that is slow to read them would refuse some as over that address's limit instead).
            for (int i = 0; i < 10; i++)
            {
                using Socket socket = await harness.ConnectAsync(IPAddress.Parse("127.0.0.3"));
                await socket.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x00 }, SocketFlags.None, Ct);
                await WaitClosedAsync(socket);
            }

            (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
            using (target)
            using (requester)
            {
                byte[] file = RandomBytes(4 * 1024 * 1024);
                Task<(byte[] Data, bool Reset)> atTarget = ReadToEndAsync(target);
                await SendAsync(requester, file).WaitAsync(TestTimeout, Ct);
                requester.Shutdown(SocketShutdown.Send);
                Assert.Equal(Sha256(file), Sha256((await atTarget.WaitAsync(TestTimeout, Ct)).Data));
            }

            // A connect completes before the proxy accepts it: the last refusals may still be on their way.
            await WaitUntilAsync(() => harness.Metrics.GetRefusals(ProxyRefusalReason.PerAddressLimit) >= 26);
            Assert.Equal(26, harness.Metrics.GetRefusals(ProxyRefusalReason.PerAddressLimit));
            Assert.Equal(10, harness.Metrics.HandshakeFailures);
            Assert.Equal(1, harness.Metrics.Activations);
        }
        finally
        {
            abusive.ForEach(s => s.Dispose());
        }
    }
}
