using System.Diagnostics;

namespace XmppTransfer.FileTransfer;

/// <summary>
/// Throttles progress reports to one per interval (plus the final one). <paramref name="fileName"/> is what the reports name the
/// file: the offered name on a sender, the name it is being saved under on a receiver (<see cref="FileTransferProgress.FileName"/>).
/// </summary>
internal sealed class ProgressReporter(IProgress<FileTransferProgress>? progress, string fileName, long total, long start, TimeSpan interval)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _last;

    public TransferMethod? Method { get; set; }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Report(long transferred, bool force = false)
    {
        if (progress is null)
        {
            return;
        }

        var now = _clock.Elapsed;
        if (!force && _last is { } last && now - last < interval)
        {
            return;
        }

        _last = now;
        var rate = now.TotalSeconds > 0 ? (transferred - start) / now.TotalSeconds : 0;
        progress.Report(new FileTransferProgress(fileName, transferred, total, now, Method) { BytesPerSecond = rate, ResumedFrom = start });
    }
}
