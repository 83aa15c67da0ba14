using System.Globalization;

namespace XmppTransfer.Benchmarks;

/// <summary>CPU time and resident memory of a process, from /proc (Linux).</summary>
internal static class ProcessStats
{
    /// <summary>utime + stime in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s).</summary>
    public static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14 -> index 11, stime field 15 -> index 12.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>VmRSS and VmHWM (peak) in MiB.</summary>
    public static (double Rss, double Peak) MemoryMiB(int pid)
    {
        double rss = 0, peak = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kb(line) / 1024.0;
            }
        }

        return (rss, peak);
    }

    private static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
