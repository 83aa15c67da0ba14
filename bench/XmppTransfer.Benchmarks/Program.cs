using System.Globalization;
using BenchmarkDotNet.Running;
using XmppTransfer.Benchmarks;
using XmppTransfer.Benchmarks.Micro;

// Usage: dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- e2e [--quick] [--runs N] [--direct-runs N] [--direct-samples N] [--large-samples N] [--size MiB] [--rss-size MiB] [--pairs N] [--no-prosody] [--samples-csv FILE]
//        dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- [MiB=64] [block=4096] [runs=3] [--no-prosody]
//        dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- micro [--filter *]   (BenchmarkDotNet)
//        dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- proxy [runs=3] [pairs=2000]   (needs prosody)
//        dotnet run -c Release --project bench/XmppTransfer.Benchmarks -- s5b [raw|stream|direct|proxy|all] [MiB...]
if (args.Length > 0 && args[0] == "micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(MicroConfig).Assembly).Run(args[1..].Length > 0 ? args[1..] : ["--filter", "*"], MicroConfig.Create());
    return;
}

if (args.Length > 0 && args[0] == "e2e")
{
    Environment.ExitCode = await E2eBenchmark.RunAsync(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "proxy")
{
    await ProxyRelayBenchmark.RunAsync(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "s5b")
{
    await Socks5ThroughputBenchmark.RunAsync(args[1..]);
    return;
}

var numbers = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal) && !a.Contains(',', StringComparison.Ordinal)).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
var mib = numbers.Length > 0 ? numbers[0] : 64;
var block = numbers.Length > 1 ? numbers[1] : 4096;
var runs = numbers.Length > 2 ? numbers[2] : 3;
var windowArg = Array.IndexOf(args, "--windows");
int[] windows = windowArg >= 0 ? [.. args[windowArg + 1].Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture))] : [1, 16];
await IbbThroughServerBenchmark.RunAsync(mib * 1024L * 1024L, block, runs, windows, withProsody: !args.Contains("--no-prosody"));
