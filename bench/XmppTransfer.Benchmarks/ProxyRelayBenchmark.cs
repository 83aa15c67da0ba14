using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Benchmarks;

/// <summary>What one proxy run measured (medians); NaN where a figure was not obtained.</summary>
internal sealed record ProxyRelayResult(
    double RawMiBs, double OursMiBs, double OursCpuPerGiB, double ProsodyMiBs, double ProsodyCpuPerGiB,
    int Pairs, bool PairsAllVerified, double PairsSeconds, double ProxyPeakRssMiB);

/// <summary>Our proxy (the xft proxy process) against Prosody mod_proxy65 and raw TCP; then 2,000 concurrent verified pairs.</summary>
internal static class ProxyRelayBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        // End-to-end proxy benchmark, one run, bounded: everything stops by itself.
        //   dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- proxy [runs=3] [pairs=2000]
        // Needs prosody (Debian package) on PATH; starts its own Prosody (mod_proxy65 + our xft proxy as a component).
        // Environment: BENCH_STREAM_MIB, BENCH_PROSODY_MIB, BENCH_RELAY_BUFFER, BENCH_XFT (path of the xft.dll to run).
        int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        long streamBytes = (Environment.GetEnvironmentVariable("BENCH_STREAM_MIB") is { } mib ? long.Parse(mib, CultureInfo.InvariantCulture) : 1024) << 20;
        // mod_proxy65 stalled for good on 1 GiB streams here (nothing moved for minutes; 64 and 256 MiB finish), so its
        // stream size is separate: BENCH_PROSODY_MIB, default 256 (0 skips it). Throughput and CPU are normalised per GiB.
        long prosodyBytes = (Environment.GetEnvironmentVariable("BENCH_PROSODY_MIB") is { } pmib ? long.Parse(pmib, CultureInfo.InvariantCulture) : 256) << 20;
        await MeasureAsync(runs, pairs, streamBytes, prosodyBytes);
    }

    /// <summary>Runs the single-stream comparison <paramref name="runs"/> times, then <paramref name="pairs"/> concurrent pairs.</summary>
    /// <remarks>A mod_proxy65 stream that has not finished within <paramref name="prosodyStall"/> (default 60 s) is not counted.</remarks>
    public static async Task<ProxyRelayResult> MeasureAsync(int runs, int pairs, long streamBytes, long prosodyBytes, TimeSpan? prosodyStall = null)
    {
        const int PairBytes = 256 * 1024;
        const string Password = "bench-password";
        bool pairsVerified = false;
        double pairsSeconds = double.NaN, proxyPeak = double.NaN;
        ProxyRelayResult? result = null;
        TimeSpan timeout = TimeSpan.FromMinutes(5);
        using CancellationTokenSource cts = new(TimeSpan.FromMinutes(20));
        CancellationToken ct = cts.Token;

        var component = new ProsodyComponent("xft.example.test", "bench-component-secret");
        await using ProsodyServer prosody = await ProsodyServer.StartAsync(
            ProsodyServerOptions.Default with { Tls = false, Components = [component], LogLevel = "warn" }, ct);
        await prosody.RegisterAsync("alice", Password, ct);

        // BENCH_XFT runs another build of xft.dll (e.g. a copy of the previous commit's) for before/after comparisons.
        string xftPath = Environment.GetEnvironmentVariable("BENCH_XFT") ?? typeof(ProcessStats).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "XftPath").Value!;
        ProcessStartInfo info = new("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[]
        {
            xftPath, "proxy", "--component-jid", component.Name, "--server", $"127.0.0.1:{prosody.ComponentPort}", "--listen", "127.0.0.1:0",
            "--public-host", "127.0.0.1", "--json", "--max-streams-per-jid", "10000",
        })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["XFT_COMPONENT_SECRET"] = component.Secret;
        info.Environment["XFT_Proxy__RelayBufferSize"] = Environment.GetEnvironmentVariable("BENCH_RELAY_BUFFER") ?? "256K";
        info.Environment["XFT_Logging__LogLevel__Default"] = "Warning";
        using Process xft = Process.Start(info)!;
        _ = Task.Run(async () =>
        {
            while (await xft.StandardError.ReadLineAsync(ct) is { } line)
            {
                if (!line.Contains("info:", StringComparison.Ordinal) || line.Contains("closed (", StringComparison.Ordinal) && !line.Contains("(Completed)", StringComparison.Ordinal))
                {
                    Console.Error.WriteLine("xft: " + line);
                }
            }
        }, ct);
        IPEndPoint? ourSocks = null;
        while (await xft.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(timeout, ct) is { } line)
        {
            using JsonDocument e = JsonDocument.Parse(line);
            string name = e.RootElement.GetProperty("event").GetString()!;
            if (name == "listening")
            {
                ourSocks = IPEndPoint.Parse(e.RootElement.GetProperty("socks5")[0].GetString()!);
            }
            else if (name == "connected")
            {
                break;
            }
        }

        try
        {
            await using XmppClient alice = new(new XmppClientOptions
            {
                Jid = Jid.Parse("alice@example.test"),
                Password = Password,
                Host = "127.0.0.1",
                Port = prosody.C2sPort,
                Tls = TlsMode.Off,
                AllowPlainWithoutTls = true,
                SendInitialPresence = false,
            });
            await alice.ConnectAsync(ct);
            IPEndPoint prosodySocks = new(IPAddress.Loopback, prosody.ProxyPort!.Value);
            Jid ourJid = Jid.Parse(component.Name);
            Jid prosodyJid = Jid.Parse(prosody.ProxyJid!);
            const string Target = "bob@example.test/bench";
            byte[] block = new byte[1 << 20];
            Random.Shared.NextBytes(block);

            Console.WriteLine($"# single stream: {streamBytes >> 20} MiB raw and ours, {prosodyBytes >> 20} MiB Prosody; {runs} runs each, interleaved (medians). Machine: {Environment.ProcessorCount} cores.");
            List<double> raw = [], ours = [], theirs = [], oursCpu = [], theirsCpu = [];
            double mibs, cpu;
            for (int run = 0; run < runs; run++)
            {
                raw.Add(await RawTcpAsync().WaitAsync(timeout, ct));
                Console.WriteLine($"  raw {raw[^1]:0} MiB/s");
                (mibs, cpu) = await ThroughProxyAsync(ourSocks!, ourJid, xft.Id, streamBytes).WaitAsync(timeout, ct);
                Console.WriteLine($"  ours {mibs:0} MiB/s");
                ours.Add(mibs);
                oursCpu.Add(cpu);
                if (prosodyBytes == 0)
                {
                    // BENCH_PROSODY_MIB=0: ours against raw TCP only (before/after comparisons of our relay).
                    continue;
                }

                try
                {
                    (mibs, cpu) = await ThroughProxyAsync(prosodySocks, prosodyJid, prosody.ProcessId, prosodyBytes).WaitAsync(prosodyStall ?? TimeSpan.FromSeconds(60), ct);
                }
                catch (TimeoutException)
                {
                    // Seen repeatedly: mod_proxy65 stops moving bytes mid-stream (both sockets open, queues empty).
                    Console.WriteLine($"  prosody: stalled (not done within {(prosodyStall ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s); run not counted");
                    continue;
                }

                theirs.Add(mibs);
                theirsCpu.Add(cpu);
                Console.WriteLine($"run {run + 1}: raw {raw[^1]:0} MiB/s, ours {ours[^1]:0} MiB/s ({oursCpu[^1]:0.00} CPU s/GiB), prosody {theirs[^1]:0} MiB/s ({theirsCpu[^1]:0.00} CPU s/GiB)");
            }

            theirs.Add(double.NaN);
            theirsCpu.Add(double.NaN);
            theirs.RemoveAll(double.IsNaN);
            theirsCpu.RemoveAll(double.IsNaN);
            if (theirs.Count == 0)
            {
                theirs.Add(double.NaN);
                theirsCpu.Add(double.NaN);
            }

            Console.WriteLine($"median: raw loopback {Median(raw):0} MiB/s | our proxy {Median(ours):0} MiB/s, {Median(oursCpu):0.00} CPU s/GiB | " +
                $"Prosody mod_proxy65 {Median(theirs):0} MiB/s, {Median(theirsCpu):0.00} CPU s/GiB | ratio {Median(ours) / Median(theirs):0.0}x throughput, " +
                $"{Median(theirsCpu) / Median(oursCpu):0.0}x less CPU");

            if (pairs > 0)
            {
                await ConcurrentPairsAsync(ourSocks!, ourJid).WaitAsync(timeout, ct);
            }

            result = new ProxyRelayResult(Median(raw), Median(ours), Median(oursCpu), Median(theirs), Median(theirsCpu), pairs, pairsVerified, pairsSeconds, proxyPeak);

            async Task<double> RawTcpAsync()
            {
                using TcpListener listener = new(IPAddress.Loopback, 0);
                listener.Start();
                using Socket sender = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                Task<Socket> accept = listener.AcceptSocketAsync(ct).AsTask();
                await sender.ConnectAsync((IPEndPoint)listener.LocalEndpoint, ct);
                using Socket receiver = await accept;
                return await MeasureAsync(sender, receiver, streamBytes);
            }

            async Task<(double MiBs, double CpuPerGiB)> ThroughProxyAsync(IPEndPoint socks, Jid proxyJid, int pid, long bytes)
            {
                string sid = Guid.NewGuid().ToString("N");
                string hash = Socks5Address.Compute(sid, alice.BoundJid.ToString(), Target);
                using Socket target = await LegAsync(socks, hash, null);
                using Socket requester = await LegAsync(socks, hash, null);
                await ActivateAsync(proxyJid, sid);
                double before = ProcessStats.CpuSeconds(pid);
                double mibs = await MeasureAsync(requester, target, bytes);
                double cpu = ProcessStats.CpuSeconds(pid) - before;
                return (mibs, cpu / (bytes / (double)(1L << 30)));
            }

            async Task<double> MeasureAsync(Socket sender, Socket receiver, long streamBytes)
            {
                Stopwatch watch = Stopwatch.StartNew();
                Task send = Task.Run(async () =>
                {
                    for (long sent = 0; sent < streamBytes; sent += block.Length)
                    {
                        await sender.SendAsync(block, SocketFlags.None, ct);
                    }
                }, ct);
                byte[] buffer = new byte[1 << 20];
                long received = 0;
                while (received < streamBytes)
                {
                    int n = await receiver.ReceiveAsync(buffer, SocketFlags.None, ct);
                    if (n == 0)
                    {
                        throw new IOException($"Stream ended after {received} bytes.");
                    }

                    received += n;
                }

                await send;
                return streamBytes / (1024.0 * 1024.0) / watch.Elapsed.TotalSeconds;
            }

            async Task ActivateAsync(Jid proxyJid, string sid)
            {
                XElement query = new(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", sid),
                    new XElement(XName.Get("activate", Namespaces.Bytestreams), Target));
                await alice.SendIqAsync(Stanza.MakeIq(IqType.Set, proxyJid, query), cancellationToken: ct);
            }

            async Task ConcurrentPairsAsync(IPEndPoint socks, Jid proxyJid)
            {
                // 4,000 connections from 100 loopback source addresses: 40 each, under the default per-address limit of 64.
                Console.WriteLine($"# {pairs} concurrent pairs, {PairBytes / 1024} KiB each way per pair, every byte checked");
                var legs = new (Socket Target, Socket Requester, string Sid)[pairs];
                using SemaphoreSlim gate = new(64);
                Stopwatch watch = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
                {
                    await gate.WaitAsync(ct);
                    try
                    {
                        string sid = "pair-" + i.ToString(CultureInfo.InvariantCulture);
                        string hash = Socks5Address.Compute(sid, alice.BoundJid.ToString(), Target);
                        IPAddress from = IPAddress.Parse("127.0.0." + (2 + (i % 100)).ToString(CultureInfo.InvariantCulture));
                        Socket t = await LegAsync(socks, hash, from);
                        Socket r = await LegAsync(socks, hash, from);
                        await ActivateAsync(proxyJid, sid);
                        legs[i] = (t, r, sid);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                Console.WriteLine($"connected and activated {pairs} pairs in {watch.Elapsed.TotalSeconds:0.0} s");
                (double rssActive, _) = ProcessStats.MemoryMiB(xft.Id);
                watch.Restart();
                long[] verified = await Task.WhenAll(legs.Select((leg, i) => Task.Run(async () =>
                {
                    Task send = SendPatternAsync(leg.Requester, i, PairBytes);
                    Task back = SendPatternAsync(leg.Target, i + pairs, PairBytes);
                    long got = await VerifyPatternAsync(leg.Target, i, PairBytes) + await VerifyPatternAsync(leg.Requester, i + pairs, PairBytes);
                    await Task.WhenAll(send, back);
                    leg.Target.Dispose();
                    leg.Requester.Dispose();
                    return got;
                }, ct)));
                double seconds = watch.Elapsed.TotalSeconds;
                (double rss, double peak) = ProcessStats.MemoryMiB(xft.Id);
                long total = verified.Sum();
                pairsVerified = total == 2L * pairs * PairBytes;
                pairsSeconds = seconds;
                proxyPeak = peak;
                Console.WriteLine($"{pairs} pairs: {total} bytes verified ({(total == 2L * pairs * PairBytes ? "all" : "MISSING")}) in {seconds:0.0} s; " +
                    $"xft proxy RSS {rssActive:0} MiB with all pairs active, {rss:0} MiB after, peak {peak:0} MiB");
            }
        }
        finally
        {
            using Process kill = Process.Start("kill", ["-TERM", xft.Id.ToString(CultureInfo.InvariantCulture)]);
            await xft.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }

        return result!;

        static async Task<Socket> LegAsync(IPEndPoint socks, string hash, IPAddress? from)
        {
            Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }

            await socket.ConnectAsync(socks);
            using NetworkStream stream = new(socket, ownsSocket: false);
            await Socks5ClientHandshake.ConnectAsync(stream, hash, TimeSpan.FromSeconds(30), CancellationToken.None);
            return socket;
        }

        static byte Pattern(int stream, long offset) => (byte)((ulong)(stream + 1) * 0x9E3779B97F4A7C15UL + (ulong)offset * 0xBF58476D1CE4E5B9UL >> 56);

        static async Task SendPatternAsync(Socket socket, int stream, int count)
        {
            byte[] chunk = new byte[16 * 1024];
            for (int offset = 0; offset < count; offset += chunk.Length)
            {
                for (int j = 0; j < chunk.Length; j++)
                {
                    chunk[j] = Pattern(stream, offset + j);
                }

                await socket.SendAsync(chunk, SocketFlags.None);
            }

            socket.Shutdown(SocketShutdown.Send);
        }

        static async Task<long> VerifyPatternAsync(Socket socket, int stream, int count)
        {
            byte[] buffer = new byte[16 * 1024];
            long offset = 0;
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                for (int j = 0; j < n; j++, offset++)
                {
                    if (buffer[j] != Pattern(stream, offset))
                    {
                        throw new InvalidDataException($"Stream {stream}: byte {offset} differs.");
                    }
                }
            }

            return offset == count ? offset : throw new InvalidDataException($"Stream {stream}: {offset} of {count} bytes.");
        }

        static double Median(List<double> values)
        {
            List<double> sorted = [.. values.Order()];
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }
    }
}
