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

        var stem = name.Split('.')[0].TrimEnd(' ');
        if (s_deviceNames.Contains(stem))
        {
            name = "_" + name;
        }

        while (Encoding.UTF8.GetByteCount(name) > MaxUtf8Bytes)
        {
            var extension = Path.GetExtension(name);
            var baseName = Path.GetFileNameWithoutExtension(name);
            name = extension.Length < 20 && baseName.Length > 1
                ? baseName[..^1] + extension
                : name[..^1];
        }

        return name;
    }

    /// <summary>A name in <paramref name="directory"/> that does not exist yet: <c>name</c>, then <c>name (1).ext</c>, ...</summary>
    public static string Unique(string directory, string name)
    {
        var candidate = Path.Combine(directory, name);
        var stem = Path.GetFileNameWithoutExtension(name);
        var extension = Path.GetExtension(name);
        for (var i = 1; File.Exists(candidate) || Directory.Exists(candidate); i++)
        {
            candidate = Path.Combine(directory, $"{stem} ({i}){extension}");
        }

        return candidate;
    }
}
