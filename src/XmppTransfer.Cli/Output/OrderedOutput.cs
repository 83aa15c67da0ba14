using System.Threading.Channels;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The one way <c>xft send</c> and <c>xft receive</c> write their result lines (stdout) and their per-file notes (stderr):
/// queued in the order given and written by one task. Queuing never waits, so a line raised on the XMPP read loop (an offer
/// the manager declined on arrival) cannot stall the connection when whoever reads our stdout stops reading; the lines keep
/// their order across both streams. Disposing writes every line queued before it returns: none is lost at exit; a line given
/// later is written straight through, after those.
/// </summary>
internal sealed class OrderedOutput : IAsyncDisposable
{
    private readonly Channel<Entry> _entries = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly Task _writing;
    private readonly Lock _lateLock = new();

    /// <summary>The last line written after disposal, each chained after the one before (the first after the drain).</summary>
    private Task _late;

    /// <summary>Where lines go while a live display is drawn (<see cref="DrawAbove"/>); null otherwise.</summary>
    private LiveTarget? _live;

    public OrderedOutput(TextWriter output, TextWriter error)
    {
        _out = output;
        _error = error;

        // On the thread pool: a reader that stops reading blocks the console write (a synchronous call), and with it only this task.
        _writing = Task.Run(WriteAllAsync);
        _late = _writing;
    }

    /// <summary>An <see cref="OrderedOutput"/> to this process's stdout and stderr.</summary>
    public static OrderedOutput ForConsole() => new(Console.Out, Console.Error);

    /// <summary>Queues a result line for stdout (a <c>--json</c> line, or the plain "sent"/"received" line).</summary>
    public void Result(string line) => Queue(new Entry(_out, line, null));

    /// <summary>Queues a note for stderr (<c>xft: name from peer: why</c>).</summary>
    public void Note(string line) => Queue(new Entry(_error, line, null));

    /// <summary>
    /// Completes when every line queued before it is written: called before a progress display starts, so the display is not
    /// drawn ahead of the lines about earlier files. Not for the read loop, which must never wait on our output.
    /// </summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue(new Entry(null, null, written));
        return written.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// While the result is not disposed, lines for stderr (and for stdout when <paramref name="results"/>: stdout is the same
    /// terminal) are written by <paramref name="writeLine"/>: a live progress display that puts each above its bar, clearing
    /// the line the bar was on and drawing the bar again below. Written to the terminal directly, they would be drawn over
    /// the bar, or the bar over them.
    /// </summary>
    public IDisposable DrawAbove(Action<string> writeLine, bool results)
    {
        var live = new LiveTarget(this, writeLine, results);
        Volatile.Write(ref _live, live);
        return live;
    }

    /// <summary>
    /// Writes what is queued and stops. Deliberately not bounded by a timeout: a line dropped at exit is a file a script never
    /// hears of, while a reader that never reads holds any program writing to it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _entries.Writer.TryComplete();
        await _writing;
    }

    private void Queue(Entry entry)
    {
        if (_entries.Writer.TryWrite(entry))
        {
            return;
        }

        // After disposal: a transfer that reported after the command stopped waiting for it (a lost connection's grace ran
        // out). Its line is still worth having, the very thing a script waits for, and there is no one left to throw to: the
        // caller is background work. So it is written straight through, after every line queued before the disposal (chained
        // on the drain) and in the order given, on the pool: the caller (maybe the read loop) still never waits on our output.
        lock (_lateLock)
        {
            _late = _late.ContinueWith(_ => WriteLateAsync(entry), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>One line after disposal; write errors are dropped as in <see cref="WriteAllAsync"/>, since nobody awaits this.</summary>
    private static async Task WriteLateAsync(Entry entry)
    {
        if (entry.Written is { } written)
        {
            written.TrySetResult();
            return;
        }

        try
        {
            await entry.Target!.WriteLineAsync(entry.Line);
            await entry.Target.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The reader closed its end, or the process is taking its streams down: the line has nowhere to go.
        }
    }

    private async Task WriteAllAsync()
    {
        await foreach (var entry in _entries.Reader.ReadAllAsync())
        {
            if (entry.Written is { } written)
            {
                written.TrySetResult();
                continue;
            }

            try
            {
                if (Volatile.Read(ref _live) is { } live && (entry.Target == _error || (live.Results && entry.Target == _out)))
                {
                    live.WriteLine(entry.Line!);
                    continue;
                }

                await entry.Target!.WriteLineAsync(entry.Line);
                await entry.Target.FlushAsync();
            }
            catch (IOException)
            {
                // The reader closed its end (e.g. `xft receive --json | head -1`): the line has nowhere to go. The rest are
                // still written, in order, to whichever stream is open.
            }
        }
    }

    /// <summary>A live display's way of writing lines, until disposed.</summary>
    private sealed class LiveTarget(OrderedOutput output, Action<string> writeLine, bool results) : IDisposable
    {
        public bool Results => results;

        public void WriteLine(string line) => writeLine(line);

        public void Dispose() => Interlocked.CompareExchange(ref output._live, null, this);
    }

    /// <summary>A line for <paramref name="Target"/>, or (with <paramref name="Written"/>) a marker completed once the lines before it are out.</summary>
    private sealed record Entry(TextWriter? Target, string? Line, TaskCompletionSource? Written);
}
