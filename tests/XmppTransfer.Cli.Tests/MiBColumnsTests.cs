using Spectre.Console;
using Spectre.Console.Rendering;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Tests;

public sealed class MiBColumnsTests
{
    [Fact]
    public void The_live_bar_counts_a_400_MiB_file_in_MiB_not_in_decimal_MB()
    {
        var task = new ProgressTask(1, "big.bin", maxValue: 400L * 1048576) { Value = 100L * 1048576 };

        var shown = Render(new MiBColumns.Transferred().Render(new RenderOptions(new TestCapabilities(), new Size(80, 1)), task, TimeSpan.Zero));

        Assert.Equal("100.0/400.0 MiB", shown);
    }

    [Fact]
    public void The_rate_shows_nothing_before_it_is_known()
    {
        var task = new ProgressTask(1, "big.bin", maxValue: 1);

        var shown = Render(new MiBColumns.Speed().Render(new RenderOptions(new TestCapabilities(), new Size(80, 1)), task, TimeSpan.Zero));

        Assert.Equal(string.Empty, shown);
    }

    private static string Render(IRenderable renderable)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Write(renderable);
        return writer.ToString().Trim();
    }

    private sealed class TestCapabilities : IReadOnlyCapabilities
    {
        public ColorSystem ColorSystem => ColorSystem.NoColors;

        public bool Ansi => false;

        public bool Links => false;

        public bool Legacy => false;

        public bool IsTerminal => false;

        public bool Interactive => false;

        public bool Unicode => false;
    }
}
