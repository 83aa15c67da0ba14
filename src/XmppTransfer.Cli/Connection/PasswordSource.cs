using XmppTransfer.Cli.Output;
using XmppTransfer.Core.Sasl;

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
                return Usable(File.ReadAllText(file).TrimEnd('\r', '\n'), $"the password file {file}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"Cannot read the password file {file}: {ex.Message}");
            }
        }

        var value = Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrEmpty(value)
            ? throw new UsageException($"No password: set {environmentVariable} or give --password-file FILE (passwords are never taken from the command line).")
            : Usable(value, environmentVariable);
    }

    /// <summary>
    /// SASL refuses some passwords (SASLprep, RFC 4013: control characters, private-use code points, mixed-direction text),
    /// and the library would only find out while logging in: a second line in the password file or a tab is a mistake to
    /// name here, where it came from. The message never shows the password.
    /// </summary>
    private static string Usable(string password, string source)
    {
        if (password.Any(char.IsControl))
        {
            throw new UsageException($"The password in {source} contains a control character (a tab, or a line break inside it), which SASL does not allow.");
        }

        return SaslPassword.IsUsable(password, out var problem)
            ? password
            : throw new UsageException($"The password in {source} cannot be used with SASL: {ErrorText.Line(problem)}");
    }
}
