using System.Net.Sockets;
using System.Security.Cryptography;
using XmppTransfer.Testing;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

/// <summary>
/// A half-close through the relay: the leg that shuts down its sending direction makes the other leg read end of stream,
/// while the opposite direction keeps flowing; the pair ends once both directions are done.
/// </summary>
public sealed class Socks5ProxyHalfCloseTests
{
    [Fact]
    public async Task Half_close_by_the_target_reaches_the_requester_while_the_requester_keeps_sending()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            target.Shutdown(SocketShutdown.Send);
            (byte[] none, bool reset) = await ReadToEndAsync(requester).WaitAsync(TestTimeout, Ct);
            Assert.False(reset);
            Assert.Empty(none);

            byte[] file = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            Task<(byte[] Data, bool Reset)> arrived = ReadToEndAsync(target);
            await SendAsync(requester, file).WaitAsync(TestTimeout, Ct);
            requester.Shutdown(SocketShutdown.Send);
            (byte[] data, bool cut) = await arrived.WaitAsync(TestTimeout, Ct);
            Assert.False(cut);
            Assert.Equal(file, data);
            await WaitUntilAsync(() => harness.Metrics.ActivePairs == 0);
        }
    }

    [Fact]
    public async Task A_leg_that_closes_fully_after_the_other_half_closed_delivers_everything_it_sent()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        {
            requester.Shutdown(SocketShutdown.Send);
            (byte[] none, bool reset) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);
            Assert.False(reset);
            Assert.Empty(none);

            byte[] answer = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            Task<(byte[] Data, bool Reset)> arrived = ReadToEndAsync(requester);
            await SendAsync(target, answer).WaitAsync(TestTimeout, Ct);

            // A full close, not a half-close: the relay may still hold part of the answer when this leg is gone.
            target.Dispose();
            (byte[] data, bool cut) = await arrived.WaitAsync(TestTimeout, Ct);
            requester.Dispose();
            Assert.False(cut);
            Assert.Equal(answer, data);
            await WaitUntilAsync(() => harness.Metrics.ActivePairs == 0);
        }
    }

    [Fact]
    public async Task A_half_closed_pair_whose_other_direction_goes_silent_ends_at_the_idle_timeout()
    {
        // The clock moves only when told: nothing but the idle deadline can end the pair.
        ManualTimeProvider clock = new(manualTimers: true);
        TimeSpan idle = TimeSpan.FromMinutes(1);
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { IdleTimeout = idle, TimeProvider = clock });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            requester.Shutdown(SocketShutdown.Send);
            (_, bool reset) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);
            Assert.False(reset);
            Task closed = WaitClosedAsync(requester);

            clock.Advance(idle - TimeSpan.FromSeconds(1));
            Assert.Equal(0, harness.Metrics.GetClosures(ProxyCloseReason.IdleTimeout));
            Assert.Equal(1, harness.Metrics.ActivePairs);
            clock.Advance(TimeSpan.FromSeconds(1));
            await closed;

            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.IdleTimeout));
        }
    }
}
