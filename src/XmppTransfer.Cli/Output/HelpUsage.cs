using System.CommandLine;
using System.Text;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// How a command and its arguments are written in help, with their arity: <c>disco [&lt;JID&gt;]</c>,
/// <c>send &lt;TO&gt; &lt;FILE&gt;...</c>. System.CommandLine writes a command's own usage line this way, but lists
/// subcommands with every argument as if it were required and single (<c>disco &lt;JID&gt;</c>), which tells a new user
/// that an optional argument is needed; and it offers no way to change that list (its HelpBuilder is internal), so
/// <see cref="XftHelpAction"/> rewrites it with <see cref="ListSubcommands"/>.
/// </summary>
internal static class HelpUsage
{
    /// <summary>The command's name and its arguments, as in its own usage line: <c>send &lt;TO&gt; &lt;FILE&gt;...</c>.</summary>
    public static string Label(Command command) =>
        string.Join(' ', [command.Name, .. command.Arguments.Where(a => !a.Hidden).Select(Of)]);

    /// <summary><c>&lt;X&gt;</c> when required and single, <c>&lt;X&gt;...</c> when repeatable, in brackets when optional.</summary>
    public static string Of(Argument argument)
    {
        var name = $"<{argument.HelpName ?? argument.Name}>";
        var repeated = argument.Arity.MaximumNumberOfValues > 1 ? name + "..." : name;
        return argument.Arity.MinimumNumberOfValues == 0 ? $"[{repeated}]" : repeated;
    }

    /// <summary>
    /// <paramref name="help"/>, the help System.CommandLine wrote for <paramref name="command"/>, with its list of
    /// subcommands written again using <see cref="Label"/>, descriptions aligned and wrapped at <paramref name="maxWidth"/>.
    /// The list is found by its rows (two spaces, then a subcommand's name), not by its title, which is translated.
    /// </summary>
    public static string ListSubcommands(string help, Command command, int maxWidth)
    {
        var subcommands = command.Subcommands.Where(c => !c.Hidden).ToList();
        var lines = help.Split('\n');
        var first = Array.FindIndex(lines, line => subcommands.Any(c => IsRowOf(line, c)));
        if (first < 0)
        {
            return help;
        }

        // The list ends at the blank line that ends its section (continuation lines of wrapped descriptions included).
        var end = Array.FindIndex(lines, first, line => line.TrimEnd('\r').Length == 0);
        end = end < 0 ? lines.Length : end;
        var newline = lines[first].EndsWith('\r') ? "\r" : string.Empty;
        var labels = subcommands.Select(c => (Label: Label(c), c.Description)).ToList();
        var indent = 2 + labels.Max(l => l.Label.Length) + 2;
        var rows = new List<string>();
        foreach (var (label, description) in labels)
        {
            var wrapped = Wrap(description ?? string.Empty, maxWidth - indent);
            rows.Add(("  " + label).PadRight(indent) + wrapped[0] + newline);
            rows.AddRange(wrapped.Skip(1).Select(line => new string(' ', indent) + line + newline));
        }

        return string.Join('\n', [.. lines[..first], .. rows, .. lines[end..]]);
    }

    private static bool IsRowOf(string line, Command command) =>
        line.StartsWith("  " + command.Name, StringComparison.Ordinal)
        && (line.Length == command.Name.Length + 2 || line[command.Name.Length + 2] is ' ' or '\r');

    /// <summary>Words of <paramref name="text"/> in lines of at most <paramref name="width"/> characters (a longer word alone).</summary>
    private static List<string> Wrap(string text, int width)
    {
        // A terminal too narrow to wrap into (or none: output redirected) gets one line.
        if (width < 20)
        {
            return [text];
        }

        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : string.Empty).Append(word);
        }

        lines.Add(line.ToString());
        return lines;
    }
}
