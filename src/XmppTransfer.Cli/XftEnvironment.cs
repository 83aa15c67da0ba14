namespace XmppTransfer.Cli;

/// <summary>The environment variables every <c>xft</c> command reads its settings from.</summary>
internal static class XftEnvironment
{
    /// <summary>
    /// The prefix that marks them (<c>XFT_Logging__LogLevel__Default</c> is <c>Logging:LogLevel:Default</c>): the bare .NET
    /// names are not read, so another program's settings in the same environment do not leak in.
    /// </summary>
    public const string Prefix = "XFT_";
}
