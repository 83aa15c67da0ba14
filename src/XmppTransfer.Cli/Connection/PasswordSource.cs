namespace XmppTransfer.Cli.Connection;

/// <summary>Reads a secret from a file or an environment variable; never from the command line.</summary>
internal static class PasswordSource
{
    public const string EnvironmentVariable = "XFT_PASSWORD";

    public static string Read(string? file, string environmentVariable = EnvironmentVariable)
    {
        if (file is not null)
        {
            try
            {
                // One line; trailing newline and spaces from editors are not part of the secret.
                return File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"Cannot read the password file {file}: {ex.Message}");
            }
        }

        var value = Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrEmpty(value)
            ? throw new UsageException($"No password: set {environmentVariable} or give --password-file FILE (passwords are never taken from the command line).")
            : value;
    }
}
