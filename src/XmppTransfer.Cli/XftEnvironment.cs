using System.Collections;
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
    /// A snapshot of the process environment, names compared as the operating system does. Commands read the environment
    /// only through such a dictionary, so a test can hand in its own instead of the real one (nothing else leaks in).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Current()
    {
        var variables = new Dictionary<string, string?>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = (string?)entry.Value;
        }

        return variables;
    }

    /// <summary>
    /// The configuration keys of the <see cref="Prefix"/> variables in <paramref name="variables"/>, as
    /// <c>AddEnvironmentVariables(Prefix)</c> reads them from the process: the prefix matched in any case and dropped,
    /// <c>__</c> read as <c>:</c>.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> Settings(IReadOnlyDictionary<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        foreach (var (name, value) in variables)
        {
            if (name.Length > Prefix.Length && name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                yield return new(name[Prefix.Length..].Replace("__", ":", StringComparison.Ordinal), value);
            }
        }
    }

    /// <summary>Adds the <see cref="Prefix"/> variables of <paramref name="variables"/> as a configuration layer.</summary>
    public static IConfigurationBuilder AddXftVariables(this IConfigurationBuilder builder, IReadOnlyDictionary<string, string?> variables) =>
        builder.AddInMemoryCollection(Settings(variables));

    /// <summary>
    /// Refuses an unknown key in <paramref name="section"/> of the <see cref="Prefix"/> variables of <paramref name="variables"/>
    /// (<c>XFT_Proxy__MaxConections</c>). Only the service's own section is checked: the rest of the environment belongs to
    /// other commands (<c>XFT_PASSWORD</c>).
    /// </summary>
    /// <exception cref="UsageException">An unknown key (exit code 2).</exception>
    public static void CheckSection(string section, SettingKeys keys, IReadOnlyDictionary<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(keys);
        keys.Check(new ConfigurationBuilder().AddXftVariables(variables).Build().GetSection(section), "in the environment", VariableOf);
    }
}
