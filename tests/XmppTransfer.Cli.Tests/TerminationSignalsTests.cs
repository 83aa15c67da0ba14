using System.Text;

namespace XmppTransfer.Cli.Tests;

public sealed class TerminationSignalsTests
{
    [Fact]
    public void The_second_signals_line_is_written_when_stderr_takes_it()
    {
        var error = new StringWriter();

        Assert.True(TerminationSignals.TryNotify(error, "xft: terminated again", TimeSpan.FromSeconds(30)));
        Assert.Equal("xft: terminated again" + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void A_stderr_whose_write_blocks_for_ever_holds_the_second_signal_only_for_the_grace()
    {
        using var blocked = new BlockingWriter();

        // The call returns (false) although the write never will: the process can then exit.
        Assert.False(TerminationSignals.TryNotify(blocked, "xft: terminated again", TimeSpan.FromMilliseconds(100)));
        Assert.True(blocked.Entered.Wait(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_closed_stderr_is_no_failure_of_the_second_signal()
    {
        var closed = new StringWriter();
        closed.Dispose();

        Assert.False(TerminationSignals.TryNotify(closed, "xft: terminated again", TimeSpan.FromSeconds(30)));
    }

    /// <summary>A writer like a full pipe nobody reads: every write blocks until the test ends.</summary>
    private sealed class BlockingWriter : TextWriter
    {
        private readonly ManualResetEventSlim _release = new();

        public ManualResetEventSlim Entered { get; } = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Block();

        public override void Write(string? value) => Block();

        public override void WriteLine(string? value) => Block();

        protected override void Dispose(bool disposing)
        {
            _release.Set();
            base.Dispose(disposing);
        }

        private void Block()
        {
            Entered.Set();
            _release.Wait();
        }
    }
}
