using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime;
using System.Security.Cryptography;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// SOCKS5 throughput on loopback, one run each: raw TCP (two sockets, one process), the S5B bytestream alone, S5B direct
/// file to file through the in-process router, and S5B through Prosody's mod_proxy65; then the process's peak RSS.
/// Usage: <c>dotnet XmppTransfer.Benchmarks.dll s5b [raw|stream|direct|unverified|ceiling|proxy|all] [MiB...]</c>
/// (<c>ceiling</c>: the same file -> file byte path without XMPP, see <see cref="FileToFileCeiling"/>).
/// </summary>
internal static class Socks5ThroughputBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "all";
        var sizes = args.Length > 1 ? args.Skip(1).Select(a => long.Parse(a, CultureInfo.InvariantCulture) * 1024 * 1024).ToArray() : [64L << 20];
        var work = Directory.CreateTempSubdirectory("xft-bench-").FullName;
        try
        {
            var (passes, jit) = await WarmUpAsync(work);
            Console.WriteLine($"warm-up: {passes} passes, {jit.TotalMilliseconds:0} ms of JIT");
            foreach (var size in sizes)
            {
                double? raw = null;
                if (mode is "raw" or "all")
                {
                    raw = await RawTcpAsync(size);
                    Report("raw TCP", size, raw.Value, null);
                }

                if (mode is "stream" or "all")
                {
                    Report("S5B direct bytestream only (memory -> memory)", size, await S5bStreamOnlyAsync(size), raw);
                }

                if (mode is "direct" or "all")
                {
                    var (transfer, wall) = await S5bDirectAsync(work, size);
                    Report("S5B direct file->file (transfer)", size, transfer, raw);
                    Report("S5B direct file->file (whole send incl. hashing)", size, wall, raw);
                }

                if (mode is "unverified" or "all")
                {
                    foreach (var (name, mapped, zeroCopy) in E2eBenchmark.UnhashedPaths())
                    {
                        var (transfer, _) = await S5bDirectAsync(work, size, hashes: false, zeroCopy: zeroCopy, mappedSend: mapped);
                        Report($"S5B direct file->file unverified, {name}", size, transfer, raw);
                    }
                }

                if (mode is "ceiling" or "all")
                {
                    Report("file->file without XMPP (same byte path)", size, await FileToFileCeiling.MeasureAsync(work, size), raw);
                }

                if (mode is "proxy" or "all")
                {
                    var (transfer, _) = await S5bProxyAsync(work, size);
                    Report("S5B via Prosody mod_proxy65", size, transfer, raw);
                }
            }

            Console.WriteLine($"peak RSS of this process (sender and receiver together): {PeakRssMiB():0.0} MiB");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Small, untimed passes over every path the file rows measure (raw TCP, S5B direct verified and unverified, the
    /// protocol-free path, SHA-256) until the tiered JIT has settled: six passes in a row under 20 ms of compilation each
    /// (three proved too few: tier-up comes in waves), at most <paramref name="maxPasses"/>. Without this the JIT
    /// recompiles methods (instrumented, then tier 1) in the background during the measured transfers: 50-970 ms in each
    /// of the first six 1 GiB runs of a fresh process (measured with <see cref="JitInfo"/>), at times a third of a
    /// 2-core machine. A cold <c>xft</c> process pays that during its first transfer; these rows do not show it.
    /// </summary>
    /// <param name="work">The folder for the files.</param>
    /// <param name="size">Bytes per pass (16 MiB for real runs).</param>
    /// <param name="maxPasses">The cap (a quick smoke run takes only a couple).</param>
    /// <returns>The passes taken and the JIT time they took.</returns>
    internal static async Task<(int Passes, TimeSpan Jit)> WarmUpAsync(string work, long size = 16 << 20, int maxPasses = 150)
    {
        var started = JitInfo.GetCompilationTime();
        var quiet = 0;
        var passes = 0;
        while (quiet < 6 && passes < maxPasses)
        {
            var before = JitInfo.GetCompilationTime();
            await RawTcpAsync(size);
            await S5bDirectAsync(work, size, quietly: true);
            foreach (var (_, mapped, zeroCopy) in E2eBenchmark.UnhashedPaths())
            {
                await S5bDirectAsync(work, size, hashes: false, quietly: true, zeroCopy: zeroCopy, mappedSend: mapped);
            }

            await FileToFileCeiling.MeasureAsync(work, size);
            _ = Sha256Seconds(size);

            // Not synchronisation: room for the tiering's background compiler, which waits 100 ms after the last new method.
            await Task.Delay(200);
            passes++;
            quiet = JitInfo.GetCompilationTime() - before < TimeSpan.FromMilliseconds(20) ? quiet + 1 : 0;
        }

        return (passes, JitInfo.GetCompilationTime() - started);
    }

    private static void Report(string what, long size, double seconds, double? rawSeconds)
    {
        var mibs = size / 1048576.0 / seconds;
        var ratio = rawSeconds is { } r ? $"  ({r / seconds * 100:0}% of raw TCP)" : string.Empty;
        Console.WriteLine($"{what,-52} {size >> 20,6} MiB  {seconds,7:0.000} s  {mibs,8:0} MiB/s{ratio}");
    }

    private static double PeakRssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>Two connected loopback TCP sockets in this process.</summary>
    internal static async Task<(Socket Client, Socket Server)> LoopbackPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await listener.AcceptAsync());
    }

    internal static async Task<double> RawTcpAsync(long size)
    {
        var (client, server) = await LoopbackPairAsync();
        using var sending = client;
        using var receiving = server;
        var clock = Stopwatch.StartNew();
        var send = Task.Run(async () =>
        {
            var buffer = new byte[1 << 20];
            for (long sent = 0; sent < size; sent += buffer.Length)
            {
                await client.SendAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - sent)));
            }

            client.Shutdown(SocketShutdown.Send);
        });
        var receive = Task.Run(async () =>
        {
            var buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = await server.ReceiveAsync(buffer)) > 0)
            {
                total += n;
            }

            return total;
        });
        await send;
        var got = await receive;
        return got == size ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException("raw TCP lost bytes");
    }

    internal static async Task<double> S5bStreamOnlyAsync(long size)
    {
        await using var router = new LoopbackRouter();
        var options = new Socks5BytestreamOptions { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
        var aliceS5b = new Socks5BytestreamManager(options);
        var bobS5b = new Socks5BytestreamManager(options);
        await using var alice = await router.ConnectAsync("alice", c => c.AddExtension(aliceS5b));
        await using var bob = await router.ConnectAsync("bob", c => c.AddExtension(bobS5b));
        var registration = bobS5b.Expect(alice.BoundJid, "bench");
        var clock = Stopwatch.StartNew();
        await using var sending = await aliceS5b.ConnectAsync(bob.BoundJid, "bench");
        await using var receiving = await bobS5b.WaitExpectedAsync(alice.BoundJid, "bench", registration);
        var send = Task.Run(async () =>
        {
            var buffer = new byte[1 << 20];
            for (long sent = 0; sent < size; sent += buffer.Length)
            {
                await sending.Stream.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - sent)));
            }

            sending.ShutdownSend();
        });
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = await receiving.Stream.ReadAsync(buffer)) > 0)
        {
            total += n;
        }

        await send;
        return total == size ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException("S5B lost bytes");
    }

    /// <summary>S5B direct file -> file, ours -> ours, through the in-process router.</summary>
    /// <param name="work">The folder for the files.</param>
    /// <param name="size">Bytes to send.</param>
    /// <param name="hashes">Offer and check SHA-256 (the default); false hashes nothing.</param>
    /// <param name="quietly">Print nothing (warm-up passes).</param>
    /// <param name="zeroCopy">The receiver's <see cref="FileTransferOptions.ZeroCopyReceive"/> (it only matters unhashed); null: the default.</param>
    /// <param name="mappedSend">The sender's <see cref="Socks5BytestreamOptions.MappedSendOnLoopback"/>; null: the default.</param>
    /// <param name="memory">The state of the memory the receiver's page cache comes from (see <see cref="ReceiverMemory"/>).</param>
    /// <param name="source">A synced file of <paramref name="size"/> bytes to send and keep; null: a fresh one for this sample.</param>
    internal static async Task<(double Transfer, double Wall)> S5bDirectAsync(
        string work,
        long size,
        bool hashes = true,
        bool quietly = false,
        bool? zeroCopy = null,
        bool? mappedSend = null,
        ReceiverMemory memory = ReceiverMemory.AsItIs,
        string? source = null)
    {
        await using var router = new LoopbackRouter();
        var options = new Socks5BytestreamOptions { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
        return await RunAsync(
            work, size, options with { MappedSendOnLoopback = mappedSend ?? options.MappedSendOnLoopback }, options, (user, files) => router.ConnectAsync(user, c => c.AddExtension(files)), hashes, quietly, zeroCopy, memory, source);
    }

    internal static async Task<(double Transfer, double Wall)> S5bProxyAsync(string work, long size)
    {
        await using var server = await ProsodyServer.StartAsync(ProsodyServerOptions.Default);
        foreach (var user in new[] { "alice", "bob" })
        {
            await server.RegisterAsync(user, "bench-password");
        }

        var sender = new Socks5BytestreamOptions { LoopbackOnly = true, DirectCandidates = false };
        var receiver = new Socks5BytestreamOptions { LoopbackOnly = true };
        return await RunAsync(work, size, sender, receiver, async (user, files) =>
        {
            var client = new XmppClient(new XmppClientOptions
            {
                Jid = Jid.Create(user, server.Domain, "bench"),
                Password = "bench-password",
                Host = server.Host,
                Port = server.C2sPort,
                TrustedCertificateSha256 = server.CertificateSha256,
            });
            client.AddExtension(files);
            await client.ConnectAsync();
            return client;
        });
    }

    internal static async Task<(double Transfer, double Wall)> RunAsync(
        string work, long size, Socks5BytestreamOptions senderOptions, Socks5BytestreamOptions receiverOptions, Func<string, FileTransferManager, Task<XmppClient>> connect,
        bool hashes = true,
        bool quietly = false,
        bool? zeroCopy = null,
        ReceiverMemory memory = ReceiverMemory.AsItIs,
        string? source = null)
    {
        // A source of the caller's is used as it is and kept (the interleaved rows send one synced file again and again);
        // otherwise a fresh one is written for this sample and deleted after.
        var ownSource = source is null;
        source ??= Path.Combine(work, "source.bin");
        if (ownSource)
        {
            await WriteRandomAsync(source, size);
        }
        var inbox = Directory.CreateDirectory(Path.Combine(work, "in")).FullName;
        var aliceFiles = new FileTransferManager(new FileTransferOptions { Socks5 = senderOptions });
        var bobFiles = new FileTransferManager(new FileTransferOptions { Socks5 = receiverOptions, ZeroCopyReceive = zeroCopy ?? new FileTransferOptions().ZeroCopyReceive });
        await using var alice = await connect("alice", aliceFiles);
        await using var bob = await connect("bob", bobFiles);
        var receive = Task.Run(async () =>
        {
            await foreach (var offer in bobFiles.ReceiveOffersAsync())
            {
                return await offer.AcceptAsync(inbox, new FileReceiveOptions { Overwrite = true, ComputeSha256 = hashes });
            }

            throw new InvalidOperationException("no offer");
        });
        await ReceiverMemoryState.PrepareAsync(work, size, memory);
        var clock = Stopwatch.StartNew();
        var sent = await aliceFiles.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5, ComputeHashes = hashes })
            .WaitAsync(TimeSpan.FromMinutes(30));
        var wall = clock.Elapsed.TotalSeconds;
        var received = await receive.WaitAsync(TimeSpan.FromMinutes(5));
        var matches = received.BytesTransferred == size && (hashes
            ? received.Verified && received.Sha256 == sent.Sha256

            // Unhashed run: the bytes are compared after the clock stopped (byte for byte, which is cheaper than hashing
            // both files: a 1 GiB sample spends its time on the transfer, not on the check).
            : await SameBytesAsync(received.Path!, source));
        if (!matches)
        {
            throw new InvalidOperationException("the received file does not match");
        }

        File.Delete(received.Path!);
        if (ownSource)
        {
            File.Delete(source);
        }
        if (!quietly)
        {
            Console.WriteLine($"  ({sent.Method.ToShortName()}, {(hashes ? "sha256 verified" : "bytes compared")})");
        }

        return (sent.Duration.TotalSeconds, wall);
    }

    /// <summary>True when the two files hold the same bytes (read in 4 MiB blocks from the page cache).</summary>
    private static async Task<bool> SameBytesAsync(string first, string second)
    {
        using var a = File.OpenHandle(first);
        using var b = File.OpenHandle(second);
        var length = RandomAccess.GetLength(a);
        if (length != RandomAccess.GetLength(b))
        {
            return false;
        }

        var left = new byte[4 << 20];
        var right = new byte[4 << 20];
        for (long offset = 0; offset < length;)
        {
            var count = (int)Math.Min(left.Length, length - offset);
            await ReadExactlyAsync(a, left.AsMemory(0, count), offset);
            await ReadExactlyAsync(b, right.AsMemory(0, count), offset);
            if (!left.AsSpan(0, count).SequenceEqual(right.AsSpan(0, count)))
            {
                return false;
            }

            offset += count;
        }

        return true;

        static async Task ReadExactlyAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> buffer, long offset)
        {
            for (var done = 0; done < buffer.Length;)
            {
                var n = await RandomAccess.ReadAsync(file, buffer[done..], offset + done);
                done += n > 0 ? n : throw new EndOfStreamException("the file ended early");
            }
        }
    }

    /// <summary>Seconds to SHA-256 <paramref name="size"/> bytes from memory on this thread (1 MiB blocks).</summary>
    internal static double Sha256Seconds(long size)
    {
        var block = RandomNumberGenerator.GetBytes(1 << 20);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var clock = Stopwatch.StartNew();
        for (long done = 0; done < size; done += block.Length)
        {
            sha256.AppendData(block, 0, (int)Math.Min(block.Length, size - done));
        }

        _ = sha256.GetHashAndReset();
        return clock.Elapsed.TotalSeconds;
    }

    internal static async Task WriteRandomAsync(string path, long size)
    {
        var block = RandomNumberGenerator.GetBytes(1 << 20);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (long written = 0; written < size; written += block.Length)
        {
            block[0]++;
            await file.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, size - written)));
        }

        // On disk before the clock starts: a source still being written back would slow the transfer for reasons of its own.
        file.Flush(flushToDisk: true);
    }
}
