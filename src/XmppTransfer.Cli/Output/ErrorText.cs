namespace XmppTransfer.Cli.Output;

/// <summary>Turns exception messages into the one line xft prints: no parameter names, one final period.</summary>
internal static class ErrorText
{
    /// <summary>
    /// The message of <paramref name="ex"/> as a user reads it. An <see cref="ArgumentException"/> appends
    /// " (Parameter 'name')" (and ArgumentOutOfRangeException an "Actual value was" line): the name of a C# parameter
    /// means nothing to someone at a shell, and the option it came from is named by the sentence itself.
    /// </summary>
    public static string Of(Exception ex)
    {
        var message = ex.Message;
        if (ex is ArgumentException { ParamName: { } name })
        {
            var newline = message.IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0)
            {
                message = message[..newline].TrimEnd('\r');
            }

            var suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal))
            {
                message = message[..^suffix.Length];
            }
        }

        return Line(message);
    }

    /// <summary>
    /// <paramref name="text"/> without a doubled final period: messages are built from parts that may already end with one
    /// (a peer's error text, a library message), and "shutting down.." reads as a typo. An ellipsis stays.
    /// </summary>
    public static string Line(string text)
    {
        var trimmed = text.TrimEnd();
        if (trimmed.EndsWith("...", StringComparison.Ordinal))
        {
            return trimmed;
        }

        return trimmed.EndsWith("..", StringComparison.Ordinal) ? trimmed.TrimEnd('.') + "." : trimmed;
    }
}
