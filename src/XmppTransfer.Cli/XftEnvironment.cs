using Microsoft.Extensions.Configuration;

namespace XmppTransfer.Cli;

/// <summary>The environment variables every <c>xft</c> command reads its settings from.</summary>
internal static class XftEnvironment
{
    /// <summary>
    /// The prefix that marks them (<c>XFT_Logging__LogLevel__Default</c> is <c>Logging:LogLevel:Default</c>): the bare .NET
    /// names are not read, so another program's settings in the same environment do not leak in.
    /// </summary>
    public const string Prefix = "XFT_";

    /// <summary>How configuration key <paramref name="key"/> is written as one of these variables: <c>XFT_Server__Listen</c>.</summary>
    public static string VariableOf(string key) => Prefix + key.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>
    /// Refuses an unknown key in <paramref name="section"/> of these variables (<c>XFT_Proxy__MaxConections</c>). Only the
    /// service's own section is checked: the rest of the environment belongs to other commands (<c>XFT_PASSWORD</c>).
    /// </summary>
    /// <exception cref="UsageException">An unknown key (exit code 2).</exception>
    public static void CheckSection(string section, SettingKeys keys) =>
        keys.Check(new ConfigurationBuilder().AddEnvironmentVariables(Prefix).Build().GetSection(section), "in the environment", VariableOf);
}
