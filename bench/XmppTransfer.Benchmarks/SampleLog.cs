using System.Diagnostics;
using System.Globalization;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// Every sample of the S5B direct rounds as one CSV line, in the order taken, with the seconds since the log began: the
/// rows only keep medians, and the spread of single samples on this VM (a tenth to twice the median) is what a closer
/// look needs. Writes nothing when no path was given.
/// </summary>
internal sealed class SampleLog : IDisposable
{
    private readonly StreamWriter? _writer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public SampleLog(string? path)
    {
        if (path is not null)
        {
            _writer = new StreamWriter(path, append: false) { AutoFlush = true };
            _writer.WriteLine("seconds,size_mib,run,round,what,mib_per_s");
        }
    }

    /// <summary>Logs one sample and hands its value back.</summary>
    public double Add(long sizeMiB, int run, int round, string what, double mibPerSecond)
    {
        _writer?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds:0.000},{sizeMiB},{run},{round},{what},{mibPerSecond:0.0}"));
        return mibPerSecond;
    }

    public void Dispose() => _writer?.Dispose();
}
