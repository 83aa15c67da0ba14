using System.Diagnostics;
using System.Net.Sockets;
using System.Numerics;
using System.Text;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

public sealed class Socks5ProxyRelayTests
{
    [Fact]
    public async Task Activated_pair_relays_several_mebibytes_both_ways_intact()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            byte[] file = RandomBytes(6 * 1024 * 1024 + 123);
            byte[] back = RandomBytes(3 * 1024 * 1024 + 7);

            Task<(byte[] Data, bool Reset)> atTarget = ReadToEndAsync(target);
            Task<(byte[] Data, bool Reset)> atRequester = ReadToEndAsync(requester);
            await Task.WhenAll(
                SendThenShutdownAsync(requester, file),
                SendThenShutdownAsync(target, back)).WaitAsync(TestTimeout, Ct);

            Assert.Equal(Sha256(file), Sha256((await atTarget.WaitAsync(TestTimeout, Ct)).Data));
            Assert.Equal(Sha256(back), Sha256((await atRequester.WaitAsync(TestTimeout, Ct)).Data));
            await harness.Log.WaitForAsync(4008).WaitAsync(TestTimeout, Ct);
            Assert.Equal(file.Length + back.Length, harness.Metrics.BytesRelayed);
            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.Completed));
            Assert.Equal(0, harness.Metrics.ActivePairs);
            Assert.Equal(0, harness.Metrics.RelayBufferBytes);
        }
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(16 * 1024)]
    [InlineData(256 * 1024)]
    public async Task Split_writes_arrive_byte_exact_both_ways_within_the_relay_buffer_bound(int relayBuffer)
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { RelayBufferSize = relayBuffer });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            byte[] file = RandomBytes(2 * 1024 * 1024 + 321);
            byte[] back = RandomBytes(1024 * 1024 + 5);
            long peak = 0;

            Task<byte[]> atTarget = ReadSamplingAsync(target);
            Task<byte[]> atRequester = ReadSamplingAsync(requester);
            await Task.WhenAll(SendSplitThenShutdownAsync(requester, file, seed: 1), SendSplitThenShutdownAsync(target, back, seed: 2))
                .WaitAsync(TestTimeout, Ct);

            Assert.Equal(Sha256(file), Sha256(await atTarget.WaitAsync(TestTimeout, Ct)));
            Assert.Equal(Sha256(back), Sha256(await atRequester.WaitAsync(TestTimeout, Ct)));
            // One buffer per direction at most, each the configured size rounded up to the pool's power of two.
            Assert.InRange(Interlocked.Read(ref peak), 0, 2 * (long)BitOperations.RoundUpToPowerOf2((uint)relayBuffer));
            await harness.Log.WaitForAsync(4008).WaitAsync(TestTimeout, Ct);
            Assert.Equal(file.Length + back.Length, harness.Metrics.BytesRelayed);
            Assert.Equal(0, harness.Metrics.RelayBufferBytes);

            async Task<byte[]> ReadSamplingAsync(Socket socket)
            {
                using MemoryStream all = new();
                byte[] buffer = new byte[7 * 1024];
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, Ct)) > 0)
                {
                    all.Write(buffer, 0, n);
                    long now = harness.Metrics.RelayBufferBytes;
                    long seen = Interlocked.Read(ref peak);
                    while (now > seen && Interlocked.CompareExchange(ref peak, now, seen) != seen)
                    {
                        seen = Interlocked.Read(ref peak);
                    }
                }

                return all.ToArray();
            }
        }
    }

    [Fact]
    public async Task Activated_pairs_that_went_quiet_hold_no_relay_buffer()
    {
        const int Pairs = 8;
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        List<Socket> sockets = [];
        try
        {
            for (int i = 0; i < Pairs; i++)
            {
                (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
                sockets.Add(target);
                sockets.Add(requester);

                // A round trip proves both directions relayed before the pair goes quiet.
                await SendAsync(requester, Encoding.ASCII.GetBytes("ping"));
                Assert.Equal("ping", Encoding.ASCII.GetString(await ReceiveExactlyAsync(target, 4)));
                await SendAsync(target, Encoding.ASCII.GetBytes("pong"));
                Assert.Equal("pong", Encoding.ASCII.GetString(await ReceiveExactlyAsync(requester, 4)));
            }

            Assert.Equal(Pairs, harness.Metrics.ActivePairs);
            await WaitUntilAsync(() => harness.Metrics.RelayBufferBytes == 0);
            Assert.Equal(Pairs, harness.Metrics.ActivePairs);

            // Quiet pairs still wake up and relay.
            await SendAsync(sockets[1], Encoding.ASCII.GetBytes("again"));
            Assert.Equal("again", Encoding.ASCII.GetString(await ReceiveExactlyAsync(sockets[0], 5)));
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task Half_close_by_the_requester_still_lets_the_target_answer()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            await SendAsync(requester, Encoding.ASCII.GetBytes("request"));
            requester.Shutdown(SocketShutdown.Send);

            (byte[] request, bool reset) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);
            Assert.False(reset);
            Assert.Equal("request", Encoding.ASCII.GetString(request));

            await SendAsync(target, Encoding.ASCII.GetBytes("answer after EOF"));
            target.Shutdown(SocketShutdown.Send);
            (byte[] answer, _) = await ReadToEndAsync(requester).WaitAsync(TestTimeout, Ct);
            Assert.Equal("answer after EOF", Encoding.ASCII.GetString(answer));
        }
    }

    [Fact]
    public async Task Per_stream_shaping_limits_the_rate()
    {
        const int Rate = 4 * 1024 * 1024;
        const int Size = 8 * 1024 * 1024;
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { BytesPerSecondPerStream = Rate });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            Stopwatch elapsed = Stopwatch.StartNew();
            Task<(byte[] Data, bool Reset)> received = ReadToEndAsync(target);
            await SendThenShutdownAsync(requester, RandomBytes(Size)).WaitAsync(TestTimeout, Ct);
            Assert.Equal(Size, (await received.WaitAsync(TestTimeout, Ct)).Data.Length);

            Assert.True(elapsed.Elapsed >= TimeSpan.FromSeconds(0.7 * Size / Rate), $"took only {elapsed.Elapsed}");
        }
    }

    [Fact]
    public async Task Total_shaping_limits_the_sum_of_all_streams()
    {
        const int Rate = 4 * 1024 * 1024;
        const int Size = 3 * 1024 * 1024;
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { BytesPerSecondTotal = Rate });
        (Socket target1, Socket requester1, _) = await harness.ActivatedPairAsync();
        (Socket target2, Socket requester2, _) = await harness.ActivatedPairAsync();
        using (target1)
        using (requester1)
        using (target2)
        using (requester2)
        {
            Stopwatch elapsed = Stopwatch.StartNew();
            Task<(byte[] Data, bool Reset)> received1 = ReadToEndAsync(target1);
            Task<(byte[] Data, bool Reset)> received2 = ReadToEndAsync(target2);
            await Task.WhenAll(SendThenShutdownAsync(requester1, RandomBytes(Size)), SendThenShutdownAsync(requester2, RandomBytes(Size)))
                .WaitAsync(TestTimeout, Ct);
            Assert.Equal(Size, (await received1.WaitAsync(TestTimeout, Ct)).Data.Length);
            Assert.Equal(Size, (await received2.WaitAsync(TestTimeout, Ct)).Data.Length);

            Assert.True(elapsed.Elapsed >= TimeSpan.FromSeconds(0.7 * 2 * Size / Rate), $"took only {elapsed.Elapsed}");
        }
    }

    [Fact]
    public async Task Stop_waits_for_an_active_relay_and_closes_waiting_legs()
    {
        ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using Socket waiting = await harness.ConnectLegAsync(NewHash());
        using (target)
        using (requester)
        {
            Task stop = harness.Proxy.StopAsync(Ct);
            await WaitClosedAsync(waiting);

            byte[] file = RandomBytes(1024 * 1024);
            Task<(byte[] Data, bool Reset)> atTarget = ReadToEndAsync(target);
            await SendThenShutdownAsync(requester, file).WaitAsync(TestTimeout, Ct);
            Assert.Equal(Sha256(file), Sha256((await atTarget.WaitAsync(TestTimeout, Ct)).Data));
            target.Shutdown(SocketShutdown.Send);

            await stop.WaitAsync(TestTimeout, Ct);
            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.Completed));
            Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.Shutdown));
            await Assert.ThrowsAnyAsync<SocketException>(() => harness.ConnectAsync());
        }

        await harness.DisposeAsync();
    }

    /// <summary>Sends <paramref name="data"/> in writes of 1 byte to 40 KiB (seeded, so a failure repeats), then shuts down.</summary>
    private static async Task SendSplitThenShutdownAsync(Socket socket, byte[] data, int seed)
    {
        Random sizes = new(seed);
        int sent = 0;
        while (sent < data.Length)
        {
            int size = Math.Min(data.Length - sent, sizes.Next(1, 40 * 1024));
            await SendAsync(socket, data[sent..(sent + size)]);
            sent += size;
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        byte[] data = new byte[count];
        int received = 0;
        while (received < count)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(received), SocketFlags.None, Ct).AsTask().WaitAsync(TestTimeout, Ct);
            Assert.NotEqual(0, n);
            received += n;
        }

        return data;
    }

    private static async Task SendThenShutdownAsync(Socket socket, byte[] data)
    {
        await SendAsync(socket, data);
        socket.Shutdown(SocketShutdown.Send);
    }
}
