using System.Text;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Tests;

/// <summary>The one writer of xft send's and xft receive's result lines and notes.</summary>
public sealed class OrderedOutputTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Lines_queue_without_waiting_while_the_reader_has_stopped_reading_and_all_come_out_in_order_at_dispose()
    {
        var order = new List<string>();
        var stalled = new GatedWriter(order);
        var error = new GatedWriter(order);
        error.Open();
        var output = new OrderedOutput(stalled, error);

        // What the XMPP read loop does: these calls return while stdout takes nothing (the test would hang here otherwise).
        output.Result("one");
        await stalled.FirstWriteStarted.WaitAsync(s_cap);
        output.Note("a note");
        output.Result("two");
        output.Result("three");
        Assert.Empty(stalled.Lines);

        var disposed = output.DisposeAsync().AsTask();
        Assert.False(disposed.IsCompleted);
        stalled.Open();
        await disposed.WaitAsync(s_cap);

        Assert.Equal(["one", "two", "three"], stalled.Lines);
        Assert.Equal(["a note"], error.Lines);
        Assert.Equal(["one", "a note", "two", "three"], order);
    }

    [Fact]
    public async Task A_flush_completes_only_once_every_line_queued_before_it_is_written()
    {
        var stalled = new GatedWriter();
        await using var output = new OrderedOutput(stalled, TextWriter.Null);
        output.Result("before");

        var flushed = output.FlushAsync(TestContext.Current.CancellationToken);
        await stalled.FirstWriteStarted.WaitAsync(s_cap);
        Assert.False(flushed.IsCompleted);
        stalled.Open();
        await flushed.WaitAsync(s_cap);

        Assert.Equal(["before"], stalled.Lines);
    }

    [Fact]
    public async Task A_reader_that_closed_its_end_loses_its_lines_but_not_the_other_streams()
    {
        var closed = new ClosedWriter();
        var error = new GatedWriter();
        error.Open();
        var output = new OrderedOutput(closed, error);

        output.Result("nowhere to go");
        output.Note("still said");
        await output.DisposeAsync().AsTask().WaitAsync(s_cap);

        Assert.Equal(["still said"], error.Lines);
    }

    /// <summary>
    /// A writer whose writes wait until <see cref="Open"/>: a reader that has stopped reading. Each line also goes to
    /// <paramref name="order"/>, shared by the writers of one test, to see the order across them.
    /// </summary>
    private sealed class GatedWriter(List<string>? order = null) : TextWriter
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _lines = [];

        public override Encoding Encoding => Encoding.UTF8;

        public Task FirstWriteStarted => _firstWrite.Task;

        public List<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public void Open() => _open.TrySetResult();

        public override async Task WriteLineAsync(string? value)
        {
            _firstWrite.TrySetResult();
            await _open.Task;
            lock (_lines)
            {
                _lines.Add(value ?? string.Empty);
            }

            if (order is not null)
            {
                lock (order)
                {
                    order.Add(value ?? string.Empty);
                }
            }

        }

        public override Task FlushAsync() => Task.CompletedTask;
    }

    /// <summary>A writer whose reader is gone: every write fails as a closed pipe does.</summary>
    private sealed class ClosedWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override Task WriteLineAsync(string? value) => throw new IOException("Broken pipe");
    }
}
