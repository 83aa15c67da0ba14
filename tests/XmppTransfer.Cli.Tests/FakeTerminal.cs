using System.Text;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// A terminal in memory: records what is written and replays it on a screen of lines, following the control sequences a
/// live display uses (carriage return, newline, cursor up and down, erase in line, show and hide cursor, colours ignored).
/// What a user would see is then <see cref="Screen"/>: a line drawn over another is gone, as on a real terminal.
/// </summary>
internal sealed class FakeTerminal : TextWriter
{
    private readonly StringBuilder _written = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _waiting = [];

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(string? value)
    {
        lock (_written)
        {
            _written.Append(value);
            Wake();
        }
    }

    /// <summary>Completes once <paramref name="text"/> has been written (woken by the writes, not by polling).</summary>
    public Task WrittenAsync(string text)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_written)
        {
            _waiting.Add((text, seen));
            Wake();
        }

        return seen.Task;
    }

    private void Wake()
    {
        var written = _written.ToString();
        _waiting.RemoveAll(w => written.Contains(w.Text, StringComparison.Ordinal) && w.Seen.TrySetResult() | true);
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <summary>The lines on the screen now, without trailing blanks (and without the blank lines below the last).</summary>
    public IReadOnlyList<string> Screen()
    {
        string text;
        lock (_written)
        {
            text = _written.ToString();
        }

        var lines = new List<StringBuilder> { new() };
        var row = 0;
        var column = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\u001b' && i + 1 < text.Length && text[i + 1] == '[')
            {
                // CSI: parameters, then one final letter.
                var end = i + 2;
                while (end < text.Length && !char.IsAsciiLetter(text[end]))
                {
                    end++;
                }

                var parameter = text[(i + 2)..end].TrimStart('?');
                var n = int.TryParse(parameter, out var parsed) ? parsed : -1;
                switch (text[end])
                {
                    case 'A':
                        row = Math.Max(0, row - Math.Max(1, n));
                        break;
                    case 'B':
                        row += Math.Max(1, n);
                        break;
                    case 'G':
                        column = Math.Max(0, n - 1);
                        break;
                    case 'K':
                        Line(lines, row).Length = n switch
                        {
                            2 => 0,
                            1 => Line(lines, row).Length,
                            _ => Math.Min(column, Line(lines, row).Length),
                        };
                        if (n == 1)
                        {
                            var line = Line(lines, row);
                            for (var k = 0; k < Math.Min(column + 1, line.Length); k++)
                            {
                                line[k] = ' ';
                            }
                        }

                        break;
                }

                i = end;
                continue;
            }

            switch (c)
            {
                case '\r':
                    column = 0;
                    break;
                case '\n':
                    // A terminal's output processing (ONLCR) makes a newline a carriage return too.
                    row++;
                    column = 0;
                    break;
                default:
                    var target = Line(lines, row);
                    if (target.Length < column)
                    {
                        target.Append(' ', column - target.Length);
                    }

                    if (column < target.Length)
                    {
                        target[column] = c;
                    }
                    else
                    {
                        target.Append(c);
                    }

                    column++;
                    break;
            }
        }

        var screen = lines.Select(l => l.ToString().TrimEnd()).ToList();
        while (screen.Count > 0 && screen[^1].Length == 0)
        {
            screen.RemoveAt(screen.Count - 1);
        }

        return screen;
    }

    private static StringBuilder Line(List<StringBuilder> lines, int row)
    {
        while (lines.Count <= row)
        {
            lines.Add(new StringBuilder());
        }

        return lines[row];
    }
}
