using System.Diagnostics;
using System.Reflection;

namespace XmppTransfer.Benchmarks.Tests;

/// <summary>
/// The end-to-end harness in its quick mode (tiny sizes, one run), so it cannot rot. Without XMPPTRANSFER_INTEROP=1
/// it runs only our own rows (--no-prosody); the Prosody and slixmpp rows then say "not measured".
/// </summary>
public sealed class E2eSmokeTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(85);

    [Fact]
    public async Task The_quick_run_prints_a_table_with_a_ratio_on_every_measured_row()
    {
        var interop = Environment.GetEnvironmentVariable("XMPPTRANSFER_INTEROP") == "1";
        string[] arguments = [BenchmarksDll(), "e2e", "--quick", .. interop ? Array.Empty<string>() : ["--no-prosody"]];

        var (exit, output) = await RunAsync(arguments);

        Assert.True(exit == 0, output);
        var rows = output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.True(rows.Count >= 10, output);
        foreach (var row in rows)
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
            Assert.Equal(5, cells.Length);
            Assert.True(cells[1].StartsWith("not measured", StringComparison.Ordinal) || cells[3].EndsWith('x'), row);
        }

        Assert.Contains(rows, r => r.StartsWith("| raw loopback TCP", StringComparison.Ordinal) && r.Contains("1.00x", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| S5B direct file -> file", StringComparison.Ordinal) && Measured(r));
        Assert.Contains(rows, r => r.StartsWith("| S5B direct file -> file", StringComparison.Ordinal) && r.Contains("paired with raw TCP", StringComparison.Ordinal) && r.Contains("middle half", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("| file -> file without XMPP", StringComparison.Ordinal) && Measured(r));
        Assert.Contains(rows, r => r.StartsWith("| a new ", StringComparison.Ordinal) && r.Contains("file filled from memory", StringComparison.Ordinal) && Measured(r));
        Assert.Contains(rows, r => r.StartsWith("| IBB through our embedded server", StringComparison.Ordinal) && Measured(r));
        Assert.Contains(rows, r => r.StartsWith("| peak RSS of `xft receive`", StringComparison.Ordinal) && r.Contains(" MiB |", StringComparison.Ordinal));
        Assert.Contains("Warm-up before the S5B direct rows: 2 untimed passes", output, StringComparison.Ordinal);
        Assert.Contains("JIT compilation inside the S5B direct runs", output, StringComparison.Ordinal);
        if (interop)
        {
            Assert.Contains(rows, r => r.StartsWith("| IBB through Prosody", StringComparison.Ordinal) && Measured(r));
        }
    }

    private static bool Measured(string row) => !row.Split('|', StringSplitOptions.TrimEntries)[2].StartsWith("not measured", StringComparison.Ordinal);

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(s_cap);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Only the process this test started (and its children: xft, Prosody, slixmpp it launched).
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + "\n" + await stderr);
    }

    private static string BenchmarksDll()
    {
        var path = typeof(E2eSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BenchmarksPath").Value!;
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the benchmarks first.", path);
    }
}
