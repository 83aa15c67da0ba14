namespace XmppTransfer.Cli.Demo;

/// <summary>One line of the demo table.</summary>
internal sealed record DemoRow(string Label, string Method, long Size, TimeSpan Duration, bool Verified, string? Error)
{
    public double MiBPerSecond => Duration.TotalSeconds > 0 ? Size / 1048576.0 / Duration.TotalSeconds : 0;
}
