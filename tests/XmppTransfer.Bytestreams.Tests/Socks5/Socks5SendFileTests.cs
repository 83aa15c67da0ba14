using System.Security.Cryptography;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// Sends of a file range over an established direct bytestream (our managers, loopback router), both ways: copied from
/// memory mappings (<see cref="Socks5BytestreamOptions.MappedSendOnLoopback"/> on) and with sendfile (the default).
/// </summary>
public sealed class Socks5SendFileTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-sendfile-").FullName;
    private readonly Socks5BytestreamManager _aliceS5b = new(s_loopback with { MappedSendOnLoopback = true });
    private readonly Socks5BytestreamManager _bobS5b = new(s_loopback);
    private readonly Socks5BytestreamManager _carolS5b = new(s_loopback);
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private XmppClient _carol = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceS5b));
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobS5b));
        _carol = await _router.ConnectAsync("carol", c => c.AddExtension(_carolS5b));
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _carol.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData(0, 0, true)]
    [InlineData(0, 1, true)]
    [InlineData(12_345, (3 * 1024 * 1024) + 7, true)]
    [InlineData(4097, (2 * Socks5Bytestream.MappedWindow) + 12_345, true)]
    [InlineData(0, 20 * 1024 * 1024, true)]
    [InlineData(0, 0, false)]
    [InlineData(0, 1, false)]
    [InlineData(12_345, (3 * 1024 * 1024) + 7, false)]
    [InlineData(4097, (2 * Socks5Bytestream.MappedWindow) + 12_345, false)]
    [InlineData(0, 20 * 1024 * 1024, false)]
    public async Task Exactly_the_asked_range_of_the_file_arrives_and_the_file_position_stays(int offset, int count, bool mapped)
    {
        var content = RandomNumberGenerator.GetBytes(offset + count + 100);
        await using var file = OpenFile("range.bin", content);
        var (sending, receiving) = await ConnectAsync("range", mapped);
        await using (sending)
        await using (receiving)
        {
            var reported = new List<long>();
            var read = ReadToEndAsync(receiving.Stream);

            await sending.SendFileAsync(file, offset, count, reported.Add, Ct).WaitAsync(s_cap, Ct);
            sending.ShutdownSend();

            Assert.Equal(content.AsSpan(offset, count).ToArray(), await read.WaitAsync(s_cap, Ct));
            Assert.Equal(0, file.Position);
            Assert.Equal(count, reported.Count == 0 ? 0 : reported[^1]);
            Assert.Equal(reported.OrderBy(n => n), reported);
            Assert.Equal(mapped ? count : 0, sending.MappedBytes);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_file_cut_short_while_it_is_sent_is_an_end_of_stream_error_and_the_process_lives_on(bool mapped)
    {
        var path = Path.Combine(_directory, "cut.bin");
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(3 * 1024 * 1024), Ct);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var (sending, receiving) = await ConnectAsync("cut", mapped);
        await using (sending)
        await using (receiving)
        {
            var read = DrainAsync(receiving.Stream);

            // After the first progress report the file loses its second half. A mapped send is then inside its first window:
            // the kernel meets pages past the new end, which from user code would be SIGBUS, and fails the send instead.
            var cut = false;
            void CutOnce(long sent)
            {
                if (!cut)
                {
                    cut = true;
                    using var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                    writer.SetLength(1536 * 1024);
                }
            }

            await Assert.ThrowsAsync<EndOfStreamException>(() => sending.SendFileAsync(file, 0, 3 * 1024 * 1024, CutOnce, Ct).WaitAsync(s_cap, Ct));
            sending.ShutdownSend();
            Assert.InRange(await read.WaitAsync(s_cap, Ct), 0, 1536 * 1024);
        }
    }

    [Fact]
    public async Task A_mapped_send_that_fills_the_socket_waits_for_room_and_then_sends_the_rest()
    {
        var content = RandomNumberGenerator.GetBytes(24 * 1024 * 1024);
        await using var file = OpenFile("wait.bin", content);
        var (sending, receiving) = await ConnectAsync("wait");
        await using (sending)
        await using (receiving)
        {
            long sent = 0;

            // Nobody reads at first: the socket fills and the send has to wait; then the receiver reads everything.
            var send = sending.SendFileAsync(file, 0, content.Length, n => Interlocked.Exchange(ref sent, n), Ct);
            await WaitUntilStalledAsync(() => Interlocked.Read(ref sent), send);
            var read = ReadToEndAsync(receiving.Stream);
            await send.WaitAsync(s_cap, Ct);
            sending.ShutdownSend();

            Assert.Equal(content, await read.WaitAsync(s_cap, Ct));
            Assert.InRange(sending.MappedWaits, 1, int.MaxValue);
            Assert.Equal(content.Length, sending.MappedBytes);
        }
    }

    [Fact]
    public async Task A_file_shorter_than_the_range_is_an_end_of_stream_error_not_a_hang()
    {
        await using var file = OpenFile("short.bin", RandomNumberGenerator.GetBytes(1000));
        var (sending, receiving) = await ConnectAsync("short");
        await using (sending)
        await using (receiving)
        {
            await Assert.ThrowsAsync<EndOfStreamException>(() => sending.SendFileAsync(file, 500, 2000, null, Ct).WaitAsync(s_cap, Ct));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cancelling_a_send_the_receiver_does_not_read_closes_the_bytestream(bool mapped)
    {
        await using var file = OpenFile("big.bin", RandomNumberGenerator.GetBytes(64 * 1024 * 1024));
        var (sending, receiving) = await ConnectAsync("stuck", mapped);
        await using (sending)
        await using (receiving)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            long sent = 0;

            // The receiver never reads: the send stalls once the socket buffers are full; cancel when progress stops.
            var send = sending.SendFileAsync(file, 0, file.Length, n => Interlocked.Exchange(ref sent, n), cancel.Token);
            await WaitUntilStalledAsync(() => Interlocked.Read(ref sent), send);
            await cancel.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap, Ct));
            Assert.InRange(Interlocked.Read(ref sent), 0, file.Length - 1);

            // Closed: the receiver's reads end (EOF, or a reset for what was still unread) instead of waiting for more.
            var drained = await DrainAsync(receiving.Stream).WaitAsync(s_cap, Ct);
            Assert.InRange(drained, 0, file.Length - 1);
        }
    }

    private static async Task WaitUntilStalledAsync(Func<long> progress, Task send)
    {
        // Progress comes per chunk; when the same total is seen across several chunk-times the socket is full.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var last = -1L;
        var steady = 0;
        for (var ticks = 0; ticks < 300 && steady < 5 && !send.IsCompleted; ticks++)
        {
            await timer.WaitForNextTickAsync(Ct);
            var now = progress();
            steady = now == last ? steady + 1 : 0;
            last = now;
        }

        Assert.False(send.IsCompleted, "the send finished although nobody read");
    }

    /// <summary>A direct bytestream to bob, from alice (mapped sends on loopback) or from carol (sendfile, the default).</summary>
    private async Task<(Socks5Bytestream Sending, Socks5Bytestream Receiving)> ConnectAsync(string sid, bool mapped = true)
    {
        var (sender, senderS5b) = mapped ? (_alice, _aliceS5b) : (_carol, _carolS5b);
        var registration = _bobS5b.Expect(sender.BoundJid, sid);
        var sending = await senderS5b.ConnectAsync(_bob.BoundJid, sid, Ct).WaitAsync(s_cap, Ct);
        var receiving = await _bobS5b.WaitExpectedAsync(sender.BoundJid, sid, registration, Ct).WaitAsync(s_cap, Ct);
        return (sending, receiving);
    }

    private FileStream OpenFile(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
    }

    private static async Task<long> DrainAsync(Stream stream)
    {
        var buffer = new byte[1024 * 1024];
        long total = 0;
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, Ct)) > 0)
            {
                total += n;
            }
        }
        catch (IOException)
        {
            // A reset is also the end.
        }

        return total;
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, Ct);
        return received.ToArray();
    }
}
