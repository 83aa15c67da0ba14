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

    [Fact]
    public async Task A_line_given_after_disposal_neither_throws_from_background_work_nor_is_lost_but_follows_the_drained_lines()
    {
        var order = new List<string>();
        var stdout = new GatedWriter(order);
        var stderr = new GatedWriter(order);
        stdout.Open();
        stderr.Open();
        var output = new OrderedOutput(stdout, stderr);
        output.Result("before");
        await output.DisposeAsync().AsTask().WaitAsync(s_cap);

        // What a transfer does that reports after a lost connection's grace: from background work, nobody to throw to.
        await Task.Run(() =>
        {
            output.Result("late result");
            output.Note("late note");
        }).WaitAsync(s_cap);
        await output.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(["before", "late result", "late note"], order);
    }

    [Fact]
    public async Task While_a_live_display_draws_notes_go_through_it_and_results_only_when_stdout_is_the_terminal_too()
    {
        var stdout = new GatedWriter();
        stdout.Open();
        var stderr = new GatedWriter();
        stderr.Open();
        await using var output = new OrderedOutput(stdout, stderr);
        var drawn = new List<string>();

        using (output.DrawAbove(drawn.Add, results: false))
        {
            output.Note("a note");
            output.Result("a result");
            await output.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
        }

        output.Note("after");
        await output.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(["a note"], drawn);
        Assert.Equal(["a result"], stdout.Lines);
        Assert.Equal(["after"], stderr.Lines);
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
