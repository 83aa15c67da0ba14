using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.Server;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Prosody;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// The whole end-to-end table in one run: every row is measured here, names its baseline (also measured here) and
/// the ratio. Usage: <c>e2e [--quick] [--runs N] [--direct-runs N] [--direct-samples N] [--large-samples N] [--size MiB] [--rss-size MiB] [--pairs N] [--slixmpp-size MiB] [--no-prosody] [--samples-csv FILE]</c>.
/// </summary>
internal static class E2eBenchmark
{
    private const string Password = "bench-password";
    private const double BudgetMiB = 100_000_000 / 1048576.0;

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var runs = Flag(args, "--runs", quick ? 1 : 3);

        // One 64 MiB transfer takes about 25 ms, and loopback TCP on this shared VM swings by half from one to the next:
        // the S5B direct file rows take more runs than the slow rows, so that their medians mean something.
        var directRuns = Flag(args, "--direct-runs", quick ? 1 : Math.Max(runs, 5));

        // Inside each of those runs, interleaved samples of raw TCP and the unverified rows (a 1 GiB transfer lasts long
        // enough to need fewer, but one is too few: single 1 GiB samples ranged from 0.27x to 1.64x of raw TCP, most of that
        // spread the VM's memory, see ReceiverMemory).
        var directSamples = Flag(args, "--direct-samples", quick ? 1 : 5);
        var largeSamples = Flag(args, "--large-samples", quick ? 1 : 3);
        var size = Flag(args, "--size", quick ? 4 : 64) * 1048576L;
        var rssSize = Flag(args, "--rss-size", quick ? 16 : 4096) * 1048576L;
        var pairs = Flag(args, "--pairs", quick ? 50 : 2000);
        var slixSize = Flag(args, "--slixmpp-size", quick ? 1 : 8) * 1048576L;
        var largeSize = Flag(args, "--large-size", quick ? 8 : 1024) * 1048576L;
        var prosodyReason = args.Contains("--no-prosody") ? "--no-prosody given"
            : File.Exists("/usr/bin/prosody") || File.Exists("/usr/local/bin/prosody") ? null : "prosody is not installed";
        var slixReason = prosodyReason ?? (File.Exists("/usr/lib/python3/dist-packages/slixmpp/__init__.py") ? null : "python3-slixmpp is not installed");

        var table = new E2eTable();

        // Every sample of the S5B direct rounds, in the order taken, for a closer look (`--samples-csv FILE`).
        using var samplesLog = new SampleLog(Option(args, "--samples-csv"));
        var started = DateTime.UtcNow;
        Console.Error.WriteLine($"e2e: {runs} run(s) ({directRuns} for the S5B direct file rows), {size >> 20} MiB and {largeSize >> 20} MiB, RSS file {rssSize >> 20} MiB, {pairs} pairs, quick={quick}");
        var work = TestFiles.CreateTempDirectory("xft-e2e-");
        try
        {
            var file = Path.Combine(work, "payload.bin");
            await TestFiles.CreateRandomAsync(file, size);

            // 1. The ceiling.
            var raw = await table.MeasureAsync(runs, async () => Mibs(size, await Socks5ThroughputBenchmark.RawTcpAsync(size)));
            table.Add("raw loopback TCP, two sockets in-process (ceiling)", raw, "MiB/s", []);

            // 2. S5B direct, ours -> ours: the bytestream alone, then file -> file at the throughput size and at the large size.
            var stream = await table.MeasureAsync(runs, async () => Mibs(size, await Socks5ThroughputBenchmark.S5bStreamOnlyAsync(size)));
            table.Add("S5B direct, bytestream only (memory -> memory, no files, no hashing)", stream, "MiB/s", [("raw TCP", Median(raw))], Median(raw));
            var warmSize = quick ? 1L << 20 : 16L << 20;
            var (warmPasses, warmJit) = await Socks5ThroughputBenchmark.WarmUpAsync(work, warmSize, quick ? 2 : 150);
            table.Note(string.Create(
                CultureInfo.InvariantCulture,
                $"Warm-up before the S5B direct rows: {warmPasses} untimed passes over their paths ({warmSize >> 20} MiB each), {warmJit.TotalMilliseconds:0} ms of JIT, until six passes in a row compiled under 20 ms (or the cap)."));
            await DirectFileRowsAsync(table, work, size, directRuns, directSamples, samplesLog, quick);
            if (largeSize > 0)
            {
                await DirectFileRowsAsync(table, work, largeSize, directRuns, largeSamples, samplesLog, quick);
            }

            // 3. IBB and S5B through our embedded server (its built-in proxy).
            var ibbOurs1 = new List<double>();
            var ibbOurs64 = new List<double>();
            double oursCpu64 = double.NaN;
            List<double> s5bOurProxy = [];
            await using (var server = await EmbeddedXmppServer.StartAsync(new ServerOptions
            {
                Domain = "example.test",
                ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            }))
            {
                await server.AddUserAsync("alice", Password);
                await server.AddUserAsync("bob", Password);
                var port = server.ClientEndPoint.Port;
                ibbOurs1 = await table.TryAsync(async () => (await IbbThroughServerBenchmark.MeasureRunsAsync("127.0.0.1", port, server.CertificateSha256, file, work, size, 4096, 1, runs, null)).MiBs);
                ibbOurs64 = await table.TryAsync(async () =>
                {
                    var (mibs, selfCpu, _) = await IbbThroughServerBenchmark.MeasureRunsAsync("127.0.0.1", port, server.CertificateSha256, file, work, size, 4096, 64, runs, null);
                    oursCpu64 = selfCpu;
                    return mibs;
                });
                s5bOurProxy = await table.MeasureAsync(runs, async () => Mibs(size, (await Socks5ThroughputBenchmark.RunAsync(
                    work, size,
                    new Socks5BytestreamOptions { LoopbackOnly = true, DirectCandidates = false },
                    new Socks5BytestreamOptions { LoopbackOnly = true },
                    (user, files) => ConnectAsync(user, "127.0.0.1", port, server.CertificateSha256, files))).Transfer));
                table.Note(await RssAsync(server, work, rssSize, table));
            }

            // 4. Prosody and slixmpp.
            List<double> ibbProsody1 = [], ibbProsody64 = [], s5bModProxy = [], slixIbb = [], slixS5b = [], s5bModProxyLarge = [], slixS5bLarge = [];
            double prosodyCpu64 = double.NaN, prosodyClientsCpu64 = double.NaN;
            ProxyRelayResult? relay = null;
            if (prosodyReason is null)
            {
                await using (var prosody = await ProsodyServer.StartAsync(ProsodyServerOptions.Default))
                {
                    foreach (var user in new[] { "alice", "bob", "carol", "dave" })
                    {
                        await prosody.RegisterAsync(user, Password);
                    }

                    ibbProsody1 = await table.TryAsync(async () => (await IbbThroughServerBenchmark.MeasureRunsAsync(prosody.Host, prosody.C2sPort, prosody.CertificateSha256, file, work, size, 4096, 1, runs, prosody.ProcessId)).MiBs);
                    ibbProsody64 = await table.TryAsync(async () =>
                    {
                        var (mibs, selfCpu, serverCpu) = await IbbThroughServerBenchmark.MeasureRunsAsync(prosody.Host, prosody.C2sPort, prosody.CertificateSha256, file, work, size, 4096, 64, runs, prosody.ProcessId);
                        prosodyClientsCpu64 = selfCpu;
                        prosodyCpu64 = serverCpu;
                        return mibs;
                    });
                    async Task<double> ModProxyAsync(long bytes) => Mibs(bytes, (await Socks5ThroughputBenchmark.RunAsync(
                        work, bytes,
                        new Socks5BytestreamOptions { LoopbackOnly = true, DirectCandidates = false },
                        new Socks5BytestreamOptions { LoopbackOnly = true },
                        (user, files) => ConnectAsync(user, prosody.Host, prosody.C2sPort, prosody.CertificateSha256, files))).Transfer);
                    s5bModProxy = await table.MeasureAsync(runs, () => ModProxyAsync(size));
                    if (slixReason is null)
                    {
                        var slixFile = Path.Combine(work, "slixmpp.bin");
                        await TestFiles.CreateRandomAsync(slixFile, slixSize);
                        slixIbb = await table.TryAsync(() => SlixmppAsync(prosody, slixFile, work, runs, SlixmppSendOptions.Default));
                        slixS5b = await table.TryAsync(() => SlixmppAsync(prosody, file, work, runs, new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b }));
                    }

                    if (largeSize > 0)
                    {
                        // The same two paths on the large file (mod_proxy65 is slow: about 20 s per GiB).
                        s5bModProxyLarge = await table.MeasureAsync(runs, () => ModProxyAsync(largeSize));
                        if (slixReason is null)
                        {
                            var largeFile = Path.Combine(work, "large.bin");
                            await TestFiles.CreateRandomAsync(largeFile, largeSize);
                            slixS5bLarge = await table.TryAsync(() => SlixmppAsync(prosody, largeFile, work, runs, new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b }));
                            File.Delete(largeFile);
                        }
                    }
                }

                try
                {
                    relay = await ProxyRelayBenchmark.MeasureAsync(runs, pairs, size, Math.Min(size, 256L << 20), TimeSpan.FromSeconds(quick ? 10 : 60));
                }
#pragma warning disable CA1031 // A row that fails is reported as not measured, with the reason.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    table.Failed("proxy relay", e);
                }
            }

            var noProsody = "not measured: " + (prosodyReason ?? "Prosody run failed (see notes)");
            var noSlix = "not measured: " + (slixReason ?? "slixmpp run failed (see notes)");
            table.Add("S5B through our proxy (embedded server's), file -> file, ours -> ours", s5bOurProxy, "MiB/s", [("S5B through Prosody mod_proxy65", Median(s5bModProxy)), ("raw TCP", Median(raw))], Median(raw));
            table.Add("S5B through Prosody mod_proxy65, file -> file, ours -> ours", s5bModProxy, "MiB/s", [("slixmpp -> slixmpp S5B, same proxy", Median(slixS5b)), ("raw TCP", Median(raw))], Median(raw), noProsody);
            table.Add("slixmpp -> slixmpp S5B through Prosody mod_proxy65", slixS5b, "MiB/s", [("raw TCP", Median(raw))], Median(raw), noSlix);
            if (largeSize > 0)
            {
                var mib = largeSize >> 20;
                table.Add($"S5B through Prosody mod_proxy65, file -> file, {mib} MiB, ours -> ours", s5bModProxyLarge, "MiB/s", [($"slixmpp -> slixmpp S5B, same proxy, {mib} MiB", Median(slixS5bLarge)), ("raw TCP", Median(raw))], Median(raw), noProsody);
                table.Add($"slixmpp -> slixmpp S5B through Prosody mod_proxy65, {mib} MiB", slixS5bLarge, "MiB/s", [("raw TCP", Median(raw))], Median(raw), noSlix);
            }

            table.Add("S5B relay socket -> socket through our proxy (xft proxy process)", Wrap(relay?.OursMiBs), "MiB/s", [("mod_proxy65 relay", relay?.ProsodyMiBs ?? double.NaN), ("raw TCP", relay?.RawMiBs ?? double.NaN)], relay?.RawMiBs, noProsody);
            table.Add("S5B relay socket -> socket through Prosody mod_proxy65", Wrap(relay?.ProsodyMiBs), "MiB/s", [("raw TCP", relay?.RawMiBs ?? double.NaN)], relay?.RawMiBs, relay is null ? noProsody : "not measured: mod_proxy65 stalled (no run finished in time; see notes)");
            table.Add("IBB through Prosody, our clients, 4096 B blocks, window 1", ibbProsody1, "MiB/s", [("slixmpp -> slixmpp IBB 4096 B stop-and-wait", Median(slixIbb)), ("raw TCP", Median(raw))], Median(raw), noProsody);
            table.Add("IBB through Prosody, our clients, 4096 B blocks, window 64", ibbProsody64, "MiB/s", [("slixmpp -> slixmpp IBB 4096 B stop-and-wait", Median(slixIbb)), ("raw TCP", Median(raw))], Median(raw), noProsody);
            table.Add("slixmpp -> slixmpp IBB through Prosody, 4096 B, stop-and-wait", slixIbb, "MiB/s", [("raw TCP", Median(raw))], Median(raw), noSlix);
            table.Add("IBB through our embedded server, our clients, 4096 B, window 1", ibbOurs1, "MiB/s", [("IBB through Prosody, window 1", Median(ibbProsody1)), ("raw TCP", Median(raw))], Median(raw));
            table.Add("IBB through our embedded server, our clients, 4096 B, window 64", ibbOurs64, "MiB/s", [("IBB through Prosody, window 64", Median(ibbProsody64)), ("raw TCP", Median(raw))], Median(raw));
            table.AddCpu("CPU s/GiB, IBB window 64: embedded server + both clients (one process)", oursCpu64, "Prosody + the same clients", prosodyCpu64 + prosodyClientsCpu64);
            table.AddCpu("CPU s/GiB, IBB window 64: Prosody process alone", prosodyCpu64, "our server + clients, in-process", oursCpu64, prosodyReason is null ? null : noProsody);
            table.AddCpu("CPU s/GiB of the relay: our proxy (xft proxy process)", relay?.OursCpuPerGiB ?? double.NaN, "Prosody mod_proxy65", relay?.ProsodyCpuPerGiB ?? double.NaN, relay is null ? noProsody : null);
            if (relay is null || pairs <= 0)
            {
                table.AddText($"our proxy, {pairs} concurrent pairs (256 KiB each way, verified)", noProsody, "100 MB budget", "—");
            }
            else
            {
                table.AddText(
                    $"our proxy, {relay.Pairs} concurrent pairs (256 KiB each way, verified), peak RSS",
                    string.Create(CultureInfo.InvariantCulture, $"{relay.ProxyPeakRssMiB:0} MiB; {(relay.PairsAllVerified ? "all bytes verified" : "BYTES MISSING")} in {relay.PairsSeconds:0.0} s"),
                    "100 MB budget",
                    string.Create(CultureInfo.InvariantCulture, $"{relay.ProxyPeakRssMiB / BudgetMiB:0.00}x"));
            }
        }
        finally
        {
            TestFiles.DeleteDirectoryQuietly(work);
        }

        var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg")).Trim() : "n/a";
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"# e2e, {started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}; {runs} run(s) ({directRuns} for the S5B direct file rows, with {directSamples} samples each at {size >> 20} MiB and {largeSamples} at {largeSize >> 20} MiB), {size >> 20} MiB (slixmpp IBB {slixSize >> 20} MiB), medians; load average at the end: {load}"));
        Console.WriteLine();
        table.Print(Console.Out);
        return table.AllMeasuredRowsHaveRatios ? 0 : 1;
    }

    /// <summary>
    /// S5B direct file -> file, ours -> ours, at one size: verified (the default: the sender offers SHA-256, the receiver
    /// hashes while writing), unverified (nothing offered, nothing hashed), the whole send including the sender's hash pass
    /// for the offer, and SHA-256 alone on one thread, which bounds the verified rows from above. Raw TCP of the same size
    /// is measured inside every run, right before the transfers, so each ratio compares runs made under the same load
    /// (loopback TCP on this shared machine swings between about 2.5 and 5 GiB/s from minute to minute).
    /// </summary>
    private static async Task DirectFileRowsAsync(E2eTable table, string work, long size, int runs, int samples, SampleLog log, bool quick)
    {
        var mib = size >> 20;

        // A quick smoke run checks that every path works; setting the memory's state costs seconds per sample there.
        var warm = quick ? ReceiverMemory.AsItIs : ReceiverMemory.Warm;

        // The four unhashed byte paths, the default's first: the sender's copy (sendfile, or a copy from a mapping of the
        // file on loopback) against the receiver's (splice socket -> file in the kernel, or socket -> buffer -> file).
        var paths = UnhashedPaths();
        List<double> raw = [], verified = [], whole = [], sha256 = [], bare = [], fill = [], handedBack = [], fillHandedBack = [];
        var unhashed = paths.Select(_ => new List<double>()).ToArray();
        var paired = paths.Select(_ => new List<double>()).ToArray();
        var jitBefore = JitInfo.GetCompilationTime();

        // One synced source for every file sample of this size: writing and syncing a fresh one before each sample put a
        // second or more between the previous sample's freeing of its file and this one's receive, long enough for this
        // VM's host to take that memory back in some samples and not in others (see ReceiverMemory).
        var source = Path.Combine(work, $"direct-source-{mib}.bin");
        await Socks5ThroughputBenchmark.WriteRandomAsync(source, size);
        await table.MeasureAsync(runs, async () =>
        {
            // The rows the target is read from take `samples` interleaved transfers per run (raw, then each path, raw, ...)
            // and keep each one's median: a single 64 MiB transfer lasts about 25 ms, and loopback TCP on this shared VM
            // swings by half from one to the next, so one pair of samples says little. The paths' order rotates from sample
            // to sample (and from run to run), so that none always runs right after raw TCP or right after another. The
            // page-cache fill comes last. Every file sample meets warm memory (ReceiverMemory.Warm: a file of its size written and
            // deleted right before its clock starts), so that whether this VM's host had taken the memory back does not pick
            // the result. A closing raw TCP sample after the last round means every round has a ceiling measured right before
            // and right after it; the same path into memory the host took back follows, once per run, as a row of its own.
            List<double> rawRun = [], fillRun = [];
            var pathRuns = paths.Select(_ => new List<double>()).ToArray();
            var run = raw.Count;
            for (var sample = 0; sample < samples; sample++)
            {
                rawRun.Add(log.Add(mib, run, sample, "raw TCP", Mibs(size, await Socks5ThroughputBenchmark.RawTcpAsync(size))));
                for (var k = 0; k < paths.Length; k++)
                {
                    var i = (k + sample + run) % paths.Length;
                    var (name, mapped, zeroCopy) = paths[i];
                    pathRuns[i].Add(log.Add(mib, run, sample, name, Mibs(size, (await Socks5ThroughputBenchmark.S5bDirectAsync(work, size, hashes: false, zeroCopy: zeroCopy, mappedSend: mapped, memory: warm, source: source)).Transfer)));
                }

                fillRun.Add(log.Add(mib, run, sample, "page-cache fill", Mibs(size, await PageCacheFill.MeasureAsync(work, size, warm))));
            }

            rawRun.Add(log.Add(mib, run, samples, "raw TCP", Mibs(size, await Socks5ThroughputBenchmark.RawTcpAsync(size))));
            raw.Add(Median(rawRun));
            for (var i = 0; i < paths.Length; i++)
            {
                unhashed[i].Add(Median(pathRuns[i]));
                paired[i].AddRange(PairedRatios(rawRun, pathRuns[i]));
            }

            fill.Add(Median(fillRun));
            if (!quick)
            {
                var (_, defaultMapped, defaultZeroCopy) = paths[0];
                handedBack.Add(log.Add(mib, run, samples, "default into memory handed back", Mibs(size, (await Socks5ThroughputBenchmark.S5bDirectAsync(
                    work, size, hashes: false, zeroCopy: defaultZeroCopy, mappedSend: defaultMapped, memory: ReceiverMemory.HandedBack, source: source)).Transfer)));
                fillHandedBack.Add(log.Add(mib, run, samples, "page-cache fill into memory handed back", Mibs(size, await PageCacheFill.MeasureAsync(work, size, ReceiverMemory.HandedBack))));
            }

            var (transfer, wall) = await Socks5ThroughputBenchmark.S5bDirectAsync(work, size, memory: warm, source: source);
            verified.Add(Mibs(size, transfer));
            whole.Add(Mibs(size, wall));
            sha256.Add(Mibs(size, Socks5ThroughputBenchmark.Sha256Seconds(size)));
            bare.Add(Mibs(size, await FileToFileCeiling.MeasureAsync(work, size, source, warm)));
            return 0;
        });
        File.Delete(source);
        var jit = JitInfo.GetCompilationTime() - jitBefore;
        var ceiling = Median(raw);
        var byDefault = unhashed[0];
        table.Add($"raw loopback TCP, {mib} MiB, interleaved with the S5B direct runs below (their ceiling; each run the median of {samples + 1}: one before each round and one after the last)", raw, "MiB/s", []);
        table.Add($"S5B direct file -> file, {mib} MiB, verified (receiver hashes SHA-256 while writing)", verified, "MiB/s", [("raw TCP", ceiling), ("SHA-256 alone", Median(sha256))], ceiling);
        for (var i = 0; i < paths.Length; i++)
        {
            var label = i == 0
                ? $"S5B direct file -> file, {mib} MiB, unverified, the default: {paths[i].Name} (no hash offered, receiver ComputeSha256=false; bytes compared after; each run the median of {samples} interleaved with raw TCP)"
                : $"S5B direct file -> file, {mib} MiB, unverified, {paths[i].Name} (each run the median of {samples})";
            table.Add(label, unhashed[i], "MiB/s", i == 0 ? [("raw TCP", ceiling), ("verified", Median(verified))] : [("raw TCP", ceiling), ("the default", Median(byDefault))], ceiling);
            if (i == 0)
            {
                // The figure the S5B target is read from: every sample against the ceiling measured around it.
                table.AddPaired(
                    $"S5B direct file -> file, {mib} MiB, unverified, the default, paired with raw TCP: the median of its {paired[0].Count} per-sample ratios (each transfer over the mean of the raw TCP samples right before and right after its round)",
                    paired[0],
                    "raw TCP of the same round");
            }
        }

        table.Add($"S5B direct file -> file, {mib} MiB, verified, whole send incl. the sender's SHA-256 pass for the offer", whole, "MiB/s", [("raw TCP", ceiling)], ceiling);
        table.Add($"SHA-256 alone, one thread, {mib} MiB in memory (bounds the verified rows)", sha256, "MiB/s", [("raw TCP", ceiling)], ceiling);
        table.Add(
            $"file -> file without XMPP, {mib} MiB (sendfile -> loopback -> 4 x 1 MiB ring -> pwrite task; the byte path alone, for reference)",
            bare,
            "MiB/s",
            [("raw TCP", ceiling), ("S5B unverified", Median(byDefault))],
            ceiling);
        table.Add(
            $"a new {mib} MiB file filled from memory, no network (what every receive has to do at the least; each run the median of {samples}, sampled after the transfers)",
            fill,
            "MiB/s",
            [("raw TCP", ceiling), ("S5B unverified", Median(byDefault))],
            ceiling);
        table.Add(
            $"S5B direct file -> file, {mib} MiB, unverified, the default, into memory this VM's host has taken back (3 s idle first; one per run; not the target: see docs/benchmarks.md)",
            handedBack,
            "MiB/s",
            [("raw TCP", ceiling), ("the same, memory warm", Median(byDefault))],
            ceiling,
            quick ? "not measured: --quick" : null);
        table.Add(
            $"a new {mib} MiB file filled from memory this VM's host has taken back, no network (the same state as the row above; one per run)",
            fillHandedBack,
            "MiB/s",
            [("raw TCP", ceiling), ("the same, memory warm", Median(fill))],
            ceiling,
            quick ? "not measured: --quick" : null);
        if (raw.Count > 0)
        {
            string PerRun(List<double> row) =>
                string.Join(", ", raw.Select((r, i) => string.Create(CultureInfo.InvariantCulture, $"{row.ElementAtOrDefault(i) / r:0.00}x")));
            // The table's ratio divides medians taken over different runs; each transfer's own ceiling is the raw TCP of its
            // run, so the per-run ratios and their median are printed too.
            table.Note(string.Create(CultureInfo.InvariantCulture, $"raw loopback TCP, {mib} MiB, run by run: {string.Join(", ", raw.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))} MiB/s."));
            for (var i = 0; i < paths.Length; i++)
            {
                var ratios = raw.Select((r, run) => unhashed[i].ElementAtOrDefault(run) / r).ToList();
                table.Note(string.Create(
                    CultureInfo.InvariantCulture,
                    $"S5B direct, {mib} MiB, unverified, {paths[i].Name}{(i == 0 ? " (the default)" : "")}, over raw TCP of the same run, run by run: {PerRun(unhashed[i])}; median {Median(ratios):0.00}x; paired with raw TCP of the same round: {E2eTable.Spread(paired[i])}."));
            }

            table.Note($"file -> file without XMPP, {mib} MiB, over raw TCP of the same run, run by run: {PerRun(bare)}.");
            table.Note($"a new {mib} MiB file filled from memory (no network) over raw TCP of the same run, run by run: {PerRun(fill)}.");
            if (!quick)
            {
                table.Note($"into memory the host has taken back (3 s idle first), over raw TCP of the same run, run by run: the default {PerRun(handedBack)}; a new file filled from memory {PerRun(fillHandedBack)}.");
            }
            table.Note(string.Create(CultureInfo.InvariantCulture, $"JIT compilation inside the S5B direct runs at {mib} MiB (all rows, all runs): {jit.TotalMilliseconds:0} ms."));
        }
    }

    /// <summary>
    /// Each path sample of one run over the mean of the raw TCP samples that bracket its round: <paramref name="raw"/> holds
    /// one sample before each round and a closing one, so round <c>s</c> sits between <c>raw[s]</c> and <c>raw[s + 1]</c>.
    /// Loopback TCP on this VM swings by half within a minute; a ratio of medians taken over a whole run can pair a
    /// transfer with a ceiling measured under other conditions, while this pairs it with the nearest ones.
    /// </summary>
    internal static IEnumerable<double> PairedRatios(IReadOnlyList<double> raw, IReadOnlyList<double> samples)
    {
        if (raw.Count != samples.Count + 1)
        {
            throw new ArgumentException($"{samples.Count} rounds need {samples.Count + 1} raw TCP samples, not {raw.Count}.", nameof(raw));
        }

        return samples.Select((sample, round) => sample / ((raw[round] + raw[round + 1]) / 2));
    }

    /// <summary>
    /// The four unhashed S5B direct byte paths on loopback, the library's default first: the sender's
    /// <see cref="Socks5BytestreamOptions.MappedSendOnLoopback"/> against the receiver's <see cref="FileTransferOptions.ZeroCopyReceive"/>.
    /// </summary>
    internal static (string Name, bool MappedSend, bool ZeroCopy)[] UnhashedPaths()
    {
        (string Name, bool MappedSend, bool ZeroCopy)[] all =
        [
            ("sendfile send + splice receive", false, true),
            ("mapped send + splice receive", true, true),
            ("sendfile send + buffered receive", false, false),
            ("mapped send + buffered receive", true, false),
        ];
        var mappedByDefault = new Socks5BytestreamOptions().MappedSendOnLoopback;
        var spliceByDefault = new FileTransferOptions().ZeroCopyReceive;
        return [.. all.OrderBy(p => p.MappedSend == mappedByDefault && p.ZeroCopy == spliceByDefault ? 0 : 1)];
    }

    private static List<double> Wrap(double? value) => value is { } v && double.IsFinite(v) ? [v] : [];

    private static double Median(List<double> values) => E2eTable.Median(values);

    private static double Mibs(long size, double seconds) => size / 1048576.0 / seconds;

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int Flag(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static async Task<XmppClient> ConnectAsync(string user, string host, int port, string? pin, FileTransferManager files)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Create(user, "example.test", "bench"),
            Password = Password,
            Host = host,
            Port = port,
            TrustedCertificateSha256 = pin,
            IqTimeout = TimeSpan.FromSeconds(60),
        });
        client.AddExtension(files);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>slixmpp (carol) sends <paramref name="file"/> to slixmpp (dave) through Prosody; MiB/s from the sender's clock.</summary>
    private static async Task<List<double>> SlixmppAsync(ProsodyServer prosody, string file, string work, int runs, SlixmppSendOptions send)
    {
        var cap = TimeSpan.FromMinutes(5);
        var size = new FileInfo(file).Length;
        var results = new List<double>();
        var inbox = Directory.CreateDirectory(Path.Combine(work, "slix-" + Guid.NewGuid().ToString("N"))).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(SlixmppPeerOptions.For(prosody, "dave", Password), inbox, runs);
        var to = await receiver.WaitReadyAsync(cap);
        for (var run = 0; run < runs; run++)
        {
            await using var sender = SlixmppPeer.StartSender(SlixmppPeerOptions.For(prosody, "carol", Password), to, file, send);
            var sent = await sender.WaitForEventAsync("sent", cap);
            var received = await receiver.WaitForEventAsync("received", cap);
            if (received.GetProperty("bytes").GetInt64() != size)
            {
                throw new InvalidOperationException("slixmpp received a different size");
            }

            results.Add(Mibs(size, sent.GetProperty("seconds").GetDouble()));
        }

        TestFiles.DeleteDirectoryQuietly(inbox);
        return results;
    }

    /// <summary>Peak RSS (VmHWM) of the real xft send and xft receive processes, S5B direct, through the in-process server.</summary>
    private static async Task<string?> RssAsync(EmbeddedXmppServer server, string work, long size, E2eTable table)
    {
        try
        {
            var file = Path.Combine(work, "rss.bin");
            await TestFiles.CreateRandomAsync(file, size);
            var cap = TimeSpan.FromMinutes(30);
            string[] Connection(string user, string resource) =>
                ["--jid", $"{user}@example.test/{resource}", "--server", $"127.0.0.1:{server.ClientEndPoint.Port}", "--trust-cert-sha256", server.CertificateSha256];
            var password = new Dictionary<string, string> { ["XFT_PASSWORD"] = Password };
            await using var receiver = XftProcess.Start(
                ["receive", .. Connection("bob", "rss"), "--out", Path.Combine(work, "rss-in"), "--count", "1", "--json", "--s5b-host", "127.0.0.1"], password);
            await receiver.WaitForStderrAsync("waiting for files", TimeSpan.FromSeconds(60));
            await using var sender = XftProcess.Start(
                ["send", "bob@example.test/rss", file, .. Connection("alice", "rss-s"), "--method", "s5b", "--json", "--s5b-host", "127.0.0.1"], password);
            double senderPeak = 0, receiverPeak = 0;
            var watch = Stopwatch.StartNew();
            var senderExit = sender.WaitForExitAsync(cap);
            var receiverExit = receiver.WaitForExitAsync(cap);

            // Sampling, not synchronisation: VmHWM only grows, so the last reading before exit is the peak so far.
            while (!receiverExit.IsCompleted && watch.Elapsed < cap)
            {
                senderPeak = Math.Max(senderPeak, PeakOrZero(sender.ProcessId));
                receiverPeak = Math.Max(receiverPeak, PeakOrZero(receiver.ProcessId));
                await Task.WhenAny(receiverExit, Task.Delay(50));
            }

            var sendCode = await senderExit;
            var receiveCode = await receiverExit;
            File.Delete(file);
            if (sendCode != 0 || receiveCode != 0)
            {
                throw new InvalidOperationException($"xft send exited {sendCode}, xft receive exited {receiveCode}: {sender.StandardError} {receiver.StandardError}");
            }

            table.AddText(
                $"peak RSS of `xft send` (process), {size >> 20} MiB file over S5B direct",
                string.Create(CultureInfo.InvariantCulture, $"{senderPeak:0} MiB"),
                "100 MB budget",
                string.Create(CultureInfo.InvariantCulture, $"{senderPeak / BudgetMiB:0.00}x"));
            table.AddText(
                $"peak RSS of `xft receive` (process), {size >> 20} MiB file over S5B direct",
                string.Create(CultureInfo.InvariantCulture, $"{receiverPeak:0} MiB"),
                "100 MB budget",
                string.Create(CultureInfo.InvariantCulture, $"{receiverPeak / BudgetMiB:0.00}x"));
            return string.Create(CultureInfo.InvariantCulture, $"RSS transfer of {size >> 20} MiB took {watch.Elapsed.TotalSeconds:0.0} s (processes sampled every 50 ms).");
        }
#pragma warning disable CA1031 // A row that fails is reported as not measured, with the reason.
        catch (Exception e)
#pragma warning restore CA1031
        {
            table.AddText($"peak RSS of `xft send` / `xft receive`, {size >> 20} MiB file", "not measured: " + E2eTable.Reason(e), "100 MB budget", "—");
            return null;
        }
    }

    private static double PeakOrZero(int pid)
    {
        try
        {
            return ProcessStats.MemoryMiB(pid).Peak;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
