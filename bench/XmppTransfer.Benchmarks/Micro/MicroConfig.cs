using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace XmppTransfer.Benchmarks.Micro;

/// <summary>
/// Short, in-process job (no generated project to build): 1 launch, 2 warm-ups, 5 iterations, allocations reported,
/// so the whole micro run stays within a few minutes on a shared 2-core machine.
/// </summary>
internal static class MicroConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.ShortRun.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
}
