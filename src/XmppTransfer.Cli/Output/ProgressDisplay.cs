using System.Globalization;
using Spectre.Console;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// Shows transfer progress on stderr: a live bar (bytes, rate, ETA, method) on a terminal, plain
/// lines about once a second otherwise (logs, CI, pipes); either way, when a busy receiver makes the
/// sender wait before it offers again, until when.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>
    /// Runs <paramref name="work"/> with a progress display; the lines <paramref name="lines"/> writes meanwhile are put above
    /// a live bar (<see cref="OrderedOutput.DrawAbove"/>), not over it.
    /// </summary>
    public static async Task<T> RunAsync<T>(string label, long total, bool quiet, OrderedOutput lines, Func<IProgress<FileTransferProgress>?, Task<T>> work)
    {
        if (quiet)
        {
            return await work(null);
        }

        if (Console.IsErrorRedirected)
        {
            return await work(new PlainProgress(label));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await RunLiveAsync(console, lines, resultsOnTerminal: !Console.IsOutputRedirected, label, total, work);
    }

    /// <summary>
    /// The live bar on <paramref name="console"/> (a terminal; a fake one in tests). Stderr lines of <paramref name="lines"/>,
    /// and stdout ones when <paramref name="resultsOnTerminal"/> (stdout is the terminal too), are written through the console
    /// while the bar is up: Spectre clears the bar's line, writes the line, and draws the bar again below it.
    /// </summary>
    internal static async Task<T> RunLiveAsync<T>(
        IAnsiConsole console, OrderedOutput lines, bool resultsOnTerminal, string label, long total, Func<IProgress<FileTransferProgress>?, Task<T>> work)
    {
        T result = default!;

        // Ended only once the display has drawn its last frame and stopped: a line in between would be drawn beside the bar.
        using var above = lines.DrawAbove(line => console.WriteLine(line, Style.Plain), resultsOnTerminal);
        await console.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new MiBColumns.Transferred(),
                new MiBColumns.Speed(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total));
                result = await work(new Progress<FileTransferProgress>(p =>
                {
                    if (p.RetryAt is { } retryAt)
                    {
                        // A clock time stays true once it has passed (the offer is out again) until the method replaces it.
                        task.Description = Markup.Escape($"{label} [receiver busy: offering again at {BusyUntil(retryAt)}]");
                        return;
                    }

                    // The report's name, not the label: a receiver reports the name it saves under ("name (1).ext").
                    if (p.TotalBytes > 0)
                    {
                        // An out-of-band download's size comes with the server's answer, after the bar was drawn.
                        task.MaxValue = p.TotalBytes;
                    }

                    task.Value = p.BytesTransferred;
                    task.Description = Markup.Escape(p.Method is { } method ? $"{p.FileName} [{method.ToShortName()}]" : p.FileName);
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private static string BusyUntil(DateTimeOffset retryAt) => retryAt.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>
    /// One line per second on stderr: "name: 12.0/64.0 MiB (18%) 41.2 MiB/s ibb", named as the report names the file (a receiver:
    /// the name it saves under).
    /// </summary>
    private sealed class PlainProgress(string label) : IProgress<FileTransferProgress>
    {
        private TimeSpan _last = TimeSpan.FromSeconds(-1);

        public void Report(FileTransferProgress value)
        {
            if (value.RetryAt is { } retryAt)
            {
                // Not throttled, nor counted as a progress line: the next bytes are reported at once.
                Console.Error.WriteLine($"{label}: the receiver is busy; offering again at {BusyUntil(retryAt)}");
                return;
            }

            var done = value.BytesTransferred >= value.TotalBytes;
            if (!done && value.Elapsed - _last < TimeSpan.FromSeconds(1))
            {
                return;
            }

            _last = value.Elapsed;
            var percent = value.TotalBytes == 0 ? 100 : value.BytesTransferred * 100 / value.TotalBytes;
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{value.FileName}: {value.BytesTransferred / 1048576.0:0.0}/{value.TotalBytes / 1048576.0:0.0} MiB ({percent}%) {TransferJson.FormatRate(value.BytesPerSecond)} {value.Method?.ToShortName()}"));
        }
    }
}
