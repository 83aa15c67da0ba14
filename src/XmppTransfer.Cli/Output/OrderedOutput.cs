using System.Threading.Channels;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The one way <c>xft send</c> and <c>xft receive</c> write their result lines (stdout) and their per-file notes (stderr):
/// queued in the order given and written by one task. Queuing never waits, so a line raised on the XMPP read loop (an offer
/// the manager declined on arrival) cannot stall the connection when whoever reads our stdout stops reading; the lines keep
/// their order across both streams. Disposing writes every line queued before it returns: none is lost at exit.
/// </summary>
internal sealed class OrderedOutput : IAsyncDisposable
{
    private readonly Channel<Entry> _entries = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly Task _writing;

    public OrderedOutput(TextWriter output, TextWriter error)
    {
        _out = output;
        _error = error;

        // On the thread pool: a reader that stops reading blocks the console write (a synchronous call), and with it only this task.
        _writing = Task.Run(WriteAllAsync);
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
        if (!_entries.Writer.TryWrite(entry))
        {
            // Only after disposal: a bug of ours, not a line to lose quietly.
            throw new InvalidOperationException("A line was written after the command's output was closed.");
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

    /// <summary>A line for <paramref name="Target"/>, or (with <paramref name="Written"/>) a marker completed once the lines before it are out.</summary>
    private sealed record Entry(TextWriter? Target, string? Line, TaskCompletionSource? Written);
}
