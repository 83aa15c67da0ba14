using Microsoft.Extensions.Logging;
using Spectre.Console;
using XmppTransfer.Cli.Output;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Tests;

/// <summary>The live progress bar on a terminal, and the notes written while it is drawn.</summary>
public sealed class ProgressDisplayTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    /// <summary>An interactive, ANSI, colourless console 100 columns wide drawing on <paramref name="terminal"/>.</summary>
    private static IAnsiConsole LiveConsole(FakeTerminal terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(terminal),
        });
        console.Profile.Width = 100;
        return console;
    }

    [Fact]
    public async Task A_note_written_while_the_bar_is_drawn_gets_a_line_of_its_own_above_the_bar()
    {
        var terminal = new FakeTerminal();
        var console = LiveConsole(terminal);
        await using var lines = new OrderedOutput(TextWriter.Null, terminal);

        var result = await ProgressDisplay.RunLiveAsync(console, lines, resultsOnTerminal: false, "report.pdf", 1000, async progress =>
        {
            progress!.Report(new FileTransferProgress("report.pdf", 500, 1000, TimeSpan.FromSeconds(1), TransferMethod.Ibb));

            // The bar is on the screen, half done, before the note comes (as the taken-port warning comes mid-transfer).
            await terminal.WrittenAsync("50%").WaitAsync(s_cap);
            lines.Note("xft: port 7777 (--s5b-port) is taken");
            await lines.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
            return 1;
        }).WaitAsync(s_cap);

        Assert.Equal(1, result);
        var screen = terminal.Screen();
        Assert.Contains("xft: port 7777 (--s5b-port) is taken", screen);
        Assert.DoesNotContain(screen, line => line.Contains("xft:", StringComparison.Ordinal) && line.Contains('%', StringComparison.Ordinal));
        Assert.Contains("100%", screen[^1], StringComparison.Ordinal);
        Assert.Contains("report.pdf", screen[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_verbose_log_line_logged_while_the_bar_is_drawn_gets_a_line_of_its_own_above_the_bar()
    {
        var terminal = new FakeTerminal();
        var console = LiveConsole(terminal);
        await using var lines = new OrderedOutput(TextWriter.Null, terminal);
        using var logging = CliLogging.Create(verbose: true, new Dictionary<string, string?>(), lines.Note);

        await ProgressDisplay.RunLiveAsync(console, lines, resultsOnTerminal: false, "report.pdf", 1000, async progress =>
        {
            progress!.Report(new FileTransferProgress("report.pdf", 500, 1000, TimeSpan.FromSeconds(1), TransferMethod.Socks5Direct));
            await terminal.WrittenAsync("50%").WaitAsync(s_cap);
            logging.CreateLogger("XmppTransfer.Bytestreams.Socks5").LogDebug("streamhost 127.0.0.1:7777 connected");
            await lines.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
            return 1;
        }).WaitAsync(s_cap);

        var screen = terminal.Screen();
        Assert.Contains(screen, line => line.EndsWith("dbug: XmppTransfer.Bytestreams.Socks5[0] streamhost 127.0.0.1:7777 connected", StringComparison.Ordinal));
        Assert.DoesNotContain(screen, line => line.Contains("streamhost", StringComparison.Ordinal) && line.Contains('%', StringComparison.Ordinal));
        Assert.Contains("100%", screen[^1], StringComparison.Ordinal);
    }
}
