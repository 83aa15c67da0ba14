using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using XmppTransfer.Bytestreams.Socks5.Internal;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>The memory-mapped windows of a file that loopback sends copy from.</summary>
public sealed class MappedFileWindowTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-mapped-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 4095)]
    [InlineData(4095, 2)]
    [InlineData(12_345, 1_000_000)]
    public async Task A_window_at_any_offset_sends_exactly_those_bytes_of_the_file(int offset, int length)
    {
        Assert.SkipUnless(MappedSendNative.IsSupported, "memory-mapped sends are for Linux on x64 and Arm64");
        var content = RandomNumberGenerator.GetBytes(offset + length + 10);
        var path = Write("window.bin", content);
        using var handle = File.OpenHandle(path);
        using var window = MappedFileWindow.TryMap(handle, offset, length);
        Assert.NotNull(window);
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            var received = ReadAsync(server, length);

            for (var at = 0; at < length;)
            {
                var (sent, errno) = window.SendTo(client, at, length - at);
                Assert.Equal(0, errno);
                at += (int)sent;
            }

            Assert.Equal(content.AsSpan(offset, length).ToArray(), await received.WaitAsync(s_cap, Ct));
        }
    }

    [Fact]
    public async Task A_send_from_a_window_never_blocks_and_says_when_the_socket_is_full()
    {
        Assert.SkipUnless(MappedSendNative.IsSupported, "memory-mapped sends are for Linux on x64 and Arm64");
        var path = Write("full.bin", RandomNumberGenerator.GetBytes(4 * 1024 * 1024));
        using var handle = File.OpenHandle(path);
        using var window = MappedFileWindow.TryMap(handle, 0, 4 * 1024 * 1024);
        Assert.NotNull(window);
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            client.SendBufferSize = 64 * 1024;
            server.ReceiveBufferSize = 64 * 1024;

            // Nobody reads: sends go until the socket is full, and then say EAGAIN instead of blocking.
            var (sent, errno) = (0, 0);
            var total = 0;
            for (var tries = 0; tries < 1000 && errno == 0; tries++)
            {
                (var n, errno) = window.SendTo(client, total, 4 * 1024 * 1024 - total);
                total += (int)Math.Max(n, 0);
                sent = (int)n;
            }

            Assert.Equal((-1, MappedSendNative.EAGAIN), (sent, errno));
            Assert.InRange(total, 1, (4 * 1024 * 1024) - 1);
        }
    }

    [Fact]
    public void A_file_opened_for_writing_only_cannot_be_mapped_and_says_so_with_null()
    {
        Assert.SkipUnless(MappedSendNative.IsSupported, "memory-mapped sends are for Linux on x64 and Arm64");
        var path = Write("write-only.bin", new byte[8192]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);

        Assert.Null(MappedFileWindow.TryMap(handle, 0, 8192));
    }

    [Fact]
    public async Task Sending_a_window_whose_file_was_cut_short_fails_with_a_fault_instead_of_killing_the_process()
    {
        Assert.SkipUnless(MappedSendNative.IsSupported, "memory-mapped sends are for Linux on x64 and Arm64");
        var path = Write("cut.bin", RandomNumberGenerator.GetBytes(1024 * 1024));
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        using var window = MappedFileWindow.TryMap(handle, 0, 1024 * 1024);
        Assert.NotNull(window);
        RandomAccess.SetLength(handle, 0);
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            // A read of these pages from user code would raise SIGBUS; inside send(2) the kernel returns EFAULT.
            var (sent, errno) = window.SendTo(client, 0, 1024 * 1024);

            Assert.Equal((-1, MappedSendNative.EFAULT), (sent, errno));
        }
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static async Task<byte[]> ReadAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        for (var got = 0; got < length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(got), Ct);
            Assert.NotEqual(0, n);
            got += n;
        }

        return buffer;
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Ct).AsTask().WaitAsync(s_cap, Ct);
        return (client, await listener.AcceptAsync(Ct).AsTask().WaitAsync(s_cap, Ct));
    }
}
