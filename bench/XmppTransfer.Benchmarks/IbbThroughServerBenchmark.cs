using System.Diagnostics;
using System.Globalization;
using System.Net;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.Server;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// IBB through a server, our client to our client (SI + IBB, 4096-byte blocks by default): the embedded server against
/// Prosody 0.12 (Nagle off, no mod_limits), window 1 (stop-and-wait) and 16. Prints MiB/s per run and the median.
/// </summary>
internal static class IbbThroughServerBenchmark
{
    private const string Password = "bench-password";

    public static async Task RunAsync(long size, int blockSize, int runs, IReadOnlyList<int> windows, bool withProsody)
    {
        var folder = TestFiles.CreateTempDirectory("xft-bench-");
        try
        {
            var file = Path.Combine(folder, "payload.bin");
            await TestFiles.CreateRandomAsync(file, size);
            Console.WriteLine($"IBB, {size / (1024 * 1024)} MiB, block {blockSize} bytes, {runs} run(s) each; MiB/s (median)");

            await using (var server = await EmbeddedXmppServer.StartAsync(new ServerOptions
            {
                Domain = "example.test",
                ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                ProxyEnabled = false,
            }))
            {
                await server.AddUserAsync("alice", Password);
                await server.AddUserAsync("bob", Password);
                foreach (var window in windows)
                {
                    await MeasureAsync("embedded server", "127.0.0.1", server.ClientEndPoint.Port, server.CertificateSha256, file, folder, size, blockSize, window, runs);
                }
            }

            if (withProsody)
            {
                await using var prosody = await ProsodyServer.StartAsync(ProsodyServerOptions.Default with { Proxy65 = false });
                await prosody.RegisterAsync("alice", Password);
                await prosody.RegisterAsync("bob", Password);
                foreach (var window in windows)
                {
                    await MeasureAsync("Prosody 0.12", prosody.Host, prosody.C2sPort, prosody.CertificateSha256, file, folder, size, blockSize, window, runs);
                }
            }
        }
        finally
        {
            TestFiles.DeleteDirectoryQuietly(folder);
        }
    }

    private static async Task MeasureAsync(
        string label, string host, int port, string? pin, string file, string folder, long size, int blockSize, int window, int runs)
    {
        var results = (await MeasureRunsAsync(host, port, pin, file, folder, size, blockSize, window, runs, serverPid: null)).MiBs;
        results.Sort();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  {label,-16} window {window,2}: {results[results.Count / 2],7:0.0} MiB/s  (runs: {string.Join(", ", results.Select(r => r.ToString("0.0", CultureInfo.InvariantCulture)))})"));
    }

    /// <summary>
    /// <paramref name="runs"/> verified IBB transfers of <paramref name="file"/> between two of our clients through the server at
    /// <paramref name="host"/>:<paramref name="port"/>. Returns MiB/s per run, the CPU seconds per GiB of this process (both
    /// clients, and the server when it is in-process) and of <paramref name="serverPid"/> when given (else NaN).
    /// </summary>
    internal static async Task<(List<double> MiBs, double SelfCpuPerGiB, double ServerCpuPerGiB)> MeasureRunsAsync(
        string host, int port, string? pin, string file, string folder, long size, int blockSize, int window, int runs, int? serverPid)
    {
        var ibb = InBandBytestreamOptions.Default with { BlockSize = blockSize, Window = window };
        var aliceFiles = new FileTransferManager(new FileTransferOptions { Ibb = ibb });
        var bobFiles = new FileTransferManager(new FileTransferOptions { Ibb = ibb });
        await using var alice = new XmppClient(Options("alice", host, port, pin));
        await using var bob = new XmppClient(Options("bob", host, port, pin));
        alice.AddExtension(aliceFiles);
        bob.AddExtension(bobFiles);
        await alice.ConnectAsync();
        await bob.ConnectAsync();
        var offers = bobFiles.ReceiveOffersAsync().GetAsyncEnumerator();
        var results = new List<double>();
        using var self = Process.GetCurrentProcess();
        var selfBefore = self.TotalProcessorTime.TotalSeconds;
        var serverBefore = serverPid is { } pid ? ProcessStats.CpuSeconds(pid) : double.NaN;
        for (var run = 0; run < runs; run++)
        {
            var inbox = Path.Combine(folder, "in-" + Guid.NewGuid().ToString("N"));
            var watch = Stopwatch.StartNew();
            var send = aliceFiles.SendFileAsync(bob.BoundJid, file, new FileSendOptions { Method = TransferMethodPreference.Ibb, Ibb = ibb });
            if (!await offers.MoveNextAsync())
            {
                throw new InvalidOperationException("No offer arrived.");
            }

            var received = await offers.Current.AcceptAsync(inbox);
            await send;
            watch.Stop();
            if (!received.Verified)
            {
                throw new InvalidOperationException("The received file did not verify.");
            }

            results.Add(size / (1024.0 * 1024.0) / watch.Elapsed.TotalSeconds);
            TestFiles.DeleteDirectoryQuietly(inbox);
        }

        var gib = runs * (double)size / (1L << 30);
        self.Refresh();
        var selfCpu = (self.TotalProcessorTime.TotalSeconds - selfBefore) / gib;
        var serverCpu = serverPid is { } p ? (ProcessStats.CpuSeconds(p) - serverBefore) / gib : double.NaN;
        await offers.DisposeAsync();
        return (results, selfCpu, serverCpu);
    }

    private static XmppClientOptions Options(string user, string host, int port, string? pin) => new()
    {
        Jid = Jid.Create(user, "example.test", "bench"),
        Password = Password,
        Host = host,
        Port = port,
        TrustedCertificateSha256 = pin,
        IqTimeout = TimeSpan.FromSeconds(60),
    };
}
