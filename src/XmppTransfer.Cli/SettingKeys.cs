using Microsoft.Extensions.Configuration;

namespace XmppTransfer.Cli;

/// <summary>
/// The configuration keys a service reads (<c>xft server</c>, <c>xft proxy</c>), to refuse the others: configuration
/// ignores a key nobody asks for, so a misspelt one (<c>Server:Proxy:Prot</c>) would leave the default in force without
/// a word. Keys compare ignoring case, as configuration does.
/// </summary>
internal sealed class SettingKeys
{
    private readonly string[] _keys;
    private readonly string[] _lists;
    private readonly string[] _sections;

    /// <param name="keys">Every key read, in the order they are listed to the user.</param>
    /// <param name="lists">Keys among <paramref name="keys"/> that may hold a JSON array (<c>Listen:0</c>, <c>Listen:1</c>).</param>
    /// <param name="sections">Sections whose keys are free-form (<c>Logging</c>, a section of names and secrets).</param>
    public SettingKeys(IEnumerable<string> keys, IEnumerable<string> lists, IEnumerable<string> sections)
    {
        _keys = [.. keys];
        _lists = [.. lists];
        _sections = [.. sections];
    }

    /// <summary>The keys read, as listed to the user.</summary>
    public IReadOnlyList<string> Names => _keys;

    public bool IsKnown(string key)
    {
        if (_keys.Contains(key, StringComparer.OrdinalIgnoreCase)
            || _sections.Any(s => key.StartsWith(s + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        // An array element: the list key, then its index.
        var parent = ConfigurationPath.GetParentPath(key);
        return parent is not null
            && _lists.Contains(parent, StringComparer.OrdinalIgnoreCase)
            && int.TryParse(ConfigurationPath.GetSectionKey(key), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
    }

    /// <summary>
    /// Refuses the first key with a value in <paramref name="configuration"/> that is not known, saying where it came
    /// from (<paramref name="source"/>, e.g. "in --set") and what was probably meant.
    /// </summary>
    /// <param name="configuration">The settings of one source.</param>
    /// <param name="source">Where they come from, as the message says it: "in --set", "in /etc/xft/server.json".</param>
    /// <param name="spell">How a key is written in that source (<c>XFT_Server__Listen</c> in the environment); as is when null.</param>
    /// <exception cref="UsageException">An unknown key (exit code 2).</exception>
    public void Check(IConfiguration configuration, string source, Func<string, string>? spell = null)
    {
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            // Sections are listed too, without a value; only the keys that set something count.
            if (value is not null && !IsKnown(key))
            {
                throw Unknown(key, source, spell ?? (k => k));
            }
        }
    }

    /// <summary>The same as <see cref="Check(IConfiguration, string, Func{string, string}?)"/> for keys given one by one.</summary>
    /// <exception cref="UsageException">An unknown key (exit code 2).</exception>
    public void Check(IEnumerable<string> keys, string source)
    {
        foreach (var key in keys)
        {
            if (!IsKnown(key))
            {
                throw Unknown(key, source, k => k);
            }
        }
    }

    private UsageException Unknown(string key, string source, Func<string, string> spell)
    {
        var near = NearMiss.Find(key, _keys);
        var hint = near.Count > 0
            ? $"Did you mean {string.Join(" or ", near.Select(k => $"'{spell(k)}'"))}?"
            : $"The settings are {string.Join(", ", _keys.Select(spell))}, and any under {string.Join(" or ", _sections.Select(s => spell(s + ConfigurationPath.KeyDelimiter) + "*"))}.";
        return new UsageException($"Unknown setting '{spell(key)}' {source}. {hint}");
    }
}
