using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// The S5B direct byte path with everything XMPP taken away: one process, two loopback sockets, the sender hands the file
/// to the kernel with sendfile (via <see cref="Socket.SendPacketsAsync"/>), the receiver reads into a ring of four 1 MiB
/// buffers and a second task appends them to a preallocated file. No negotiation, no hashing, no progress, no watchdog.
/// A reference for the unverified S5B row: what the bare byte path does on this machine, run by run. It is not a bound:
/// since the warm-up (<see cref="Socks5ThroughputBenchmark.WarmUpAsync"/>) our full transfer usually beats it. Raw TCP copies between
/// two cache-resident buffers; file -> file must read the source's page cache and fill the destination's, both in DRAM.
/// </summary>
internal static class FileToFileCeiling
{
    private const int BufferSize = 1 << 20;
    private const int Depth = 4;

    /// <summary>
    /// Seconds to move <paramref name="size"/> bytes from a synced source file into a new file: <paramref name="source"/>,
    /// kept after, or a fresh one written for this sample and deleted after; <paramref name="memory"/> as for the S5B rows.
    /// </summary>
    public static async Task<double> MeasureAsync(string work, long size, string? source = null, ReceiverMemory memory = ReceiverMemory.AsItIs)
    {
        var ownSource = source is null;
        source ??= Path.Combine(work, "ceiling-source.bin");
        var destination = Path.Combine(work, "ceiling-destination.bin");
        if (ownSource)
        {
            await Socks5ThroughputBenchmark.WriteRandomAsync(source, size);
        }

        try
        {
            var (client, server) = await Socks5ThroughputBenchmark.LoopbackPairAsync();
            using var sending = client;
            using var receiving = server;
            using var output = File.OpenHandle(destination, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, size);
            await ReceiverMemoryState.PrepareAsync(work, size, memory);
            var clock = Stopwatch.StartNew();
            var send = Task.Run(() => SendAsync(client, source, size));
            var received = await ReceiveAsync(server, output);
            await send;
            var seconds = clock.Elapsed.TotalSeconds;
            return received == size ? seconds : throw new InvalidOperationException("the ceiling run lost bytes");
        }
        finally
        {
            if (ownSource)
            {
                File.Delete(source);
            }

            File.Delete(destination);
        }
    }

    private static async Task SendAsync(Socket socket, string source, long size)
    {
        await using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        using var operation = new SocketAsyncEventArgs();
        long offset = 0;
        var chunk = BufferSize;
        while (offset < size)
        {
            var count = (int)Math.Min(chunk, size - offset);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            operation.SendPacketsElements = [new SendPacketsElement(file, offset, count)];
            operation.UserToken = done;
            operation.Completed += Complete;
            if (socket.SendPacketsAsync(operation))
            {
                await done.Task;
            }

            operation.Completed -= Complete;
            if (operation.SocketError != SocketError.Success)
            {
                throw new SocketException((int)operation.SocketError);
            }

            offset += count;
            chunk = Math.Min(16 * BufferSize, chunk * 2);
        }

        socket.Shutdown(SocketShutdown.Send);

        static void Complete(object? sender, SocketAsyncEventArgs e) => ((TaskCompletionSource)e.UserToken!).TrySetResult();
    }

    private static async Task<long> ReceiveAsync(Socket socket, Microsoft.Win32.SafeHandles.SafeFileHandle output)
    {
        var buffers = Enumerable.Range(0, Depth).Select(_ => new byte[BufferSize]).ToArray();
        var free = Channel.CreateBounded<int>(Depth);
        for (var i = 0; i < Depth; i++)
        {
            free.Writer.TryWrite(i);
        }

        var full = Channel.CreateUnbounded<(int Slot, int Count)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            long position = 0;
            await foreach (var (slot, count) in full.Reader.ReadAllAsync())
            {
                await RandomAccess.WriteAsync(output, buffers[slot].AsMemory(0, count), position);
                position += count;
                free.Writer.TryWrite(slot);
            }
        });
        long total = 0;
        var ended = false;
        while (!ended)
        {
            var slot = await free.Reader.ReadAsync();
            var filled = 0;
            while (filled < BufferSize)
            {
                var n = await socket.ReceiveAsync(buffers[slot].AsMemory(filled));
                if (n == 0)
                {
                    ended = true;
                    break;
                }

                filled += n;
            }

            if (filled > 0)
            {
                total += filled;
                full.Writer.TryWrite((slot, filled));
            }
        }

        full.Writer.Complete();
        await writer;
        return total;
    }
}
