using System.Text;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Reduces an offered file name to a plain name that is safe in one folder on any OS: no
/// directories, no <c>..</c>, no absolute paths, no device names, no control or reserved characters.
/// </summary>
public static class SafeFileName
{
    private const int MaxUtf8Bytes = 200;
    private static readonly HashSet<string> s_deviceNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    public static string From(string offered)
    {
        ArgumentNullException.ThrowIfNull(offered);

        // Keep only the last path segment, whatever the separator convention of the sender.
        var name = offered;
        var cut = name.LastIndexOfAny(['/', '\\']);
        if (cut >= 0)
        {
            name = name[(cut + 1)..];
        }

        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsControl(c) || c is '<' or '>' or ':' or '"' or '|' or '?' or '*'
                ? '_'
                : c);
        }

        name = builder.ToString().Trim().TrimEnd('.', ' ').TrimStart('.');
        if (name.Length == 0)
        {
            name = "file";
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxUtf8Bytes)
        {
            // One cut, at a character boundary (an offered name can be as long as a stanza: 256 KiB). A short extension is
            // kept and the stem shortened; a long one is cut with the rest.
            var extension = Path.GetExtension(name);
            var baseName = Path.GetFileNameWithoutExtension(name);
            name = extension.Length is > 0 and < 20
                ? Utf8Prefix(baseName, MaxUtf8Bytes - Encoding.UTF8.GetByteCount(extension)) + extension
                : Utf8Prefix(name, MaxUtf8Bytes);
            name = name.TrimEnd('.', ' ');
            if (name.Length == 0)
            {
                name = "file";
            }
        }

        // After the cut, which can leave one ("CON" and 300 spaces, then "x").
        var stem = name.Split('.')[0].TrimEnd(' ');
        if (s_deviceNames.Contains(stem))
        {
            name = Utf8Prefix("_" + name, MaxUtf8Bytes);
        }

        return name;
    }

    /// <summary>The longest prefix of <paramref name="text"/> that is whole characters and at most <paramref name="maxBytes"/> in UTF-8.</summary>
    private static string Utf8Prefix(string text, int maxBytes)
    {
        var bytes = 0;
        var chars = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            bytes += rune.Utf8SequenceLength;
            if (bytes > maxBytes)
            {
                break;
            }

            chars += rune.Utf16SequenceLength;
        }

        return text[..chars];
    }

    /// <summary>A name in <paramref name="directory"/> that does not exist yet: <c>name</c>, then <c>name (1).ext</c>, ...</summary>
    public static string Unique(string directory, string name)
    {
        var candidate = Path.Combine(directory, name);
        for (var i = 1; File.Exists(candidate) || Directory.Exists(candidate); i++)
        {
            candidate = Path.Combine(directory, Candidate(name, i));
        }

        return candidate;
    }

    /// <summary>The <paramref name="n"/>th name <see cref="Unique"/> tries: <c>name</c> for 0, then <c>name (n).ext</c>.</summary>
    public static string Candidate(string name, int n) =>
        n == 0 ? name : $"{Path.GetFileNameWithoutExtension(name)} ({n}){Path.GetExtension(name)}";
}
