using System.Text;

namespace XmppTransfer.Cli.Server;

/// <summary>Where a new account password comes from: stdin (<c>--password-stdin</c>), <c>XFT_NEW_PASSWORD</c>, or a prompt without echo.</summary>
internal static class NewPassword
{
    public const string EnvironmentVariable = "XFT_NEW_PASSWORD";

    public static async Task<string> ReadAsync(bool fromStdin, CancellationToken cancellationToken)
    {
        if (fromStdin)
        {
            var line = await Console.In.ReadLineAsync(cancellationToken);
            return string.IsNullOrEmpty(line) ? throw new UsageException("No password on stdin.") : line.TrimEnd('\r');
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        if (Console.IsInputRedirected)
        {
            throw new UsageException($"No password: use --password-stdin, set {EnvironmentVariable}, or run in a terminal to be prompted.");
        }

        var first = Prompt("New password: ");
        var second = Prompt("Again: ");
        return first.Length == 0
            ? throw new UsageException("The password is empty.")
            : first == second ? first : throw new UsageException("The passwords differ.");
    }

    private static string Prompt(string label)
    {
        Console.Error.Write(label);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}
