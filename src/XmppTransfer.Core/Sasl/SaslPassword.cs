using System.Diagnostics.CodeAnalysis;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// Whether a password can be sent at all: SASL prepares it with SASLprep (RFC 4013), which refuses control characters,
/// private-use and other prohibited code points and mixed-direction text. A program that reads a password from a file
/// or a variable can check it here and name where it came from, rather than learn of it from the login.
/// </summary>
public static class SaslPassword
{
    /// <summary>
    /// True when <paramref name="password"/> passes SASLprep; otherwise false with <paramref name="problem"/>, a sentence
    /// naming what is wrong, never the password itself.
    /// </summary>
    public static bool IsUsable(string password, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(password);
        try
        {
            _ = SaslPrep.Prepare(password, nameof(password));
            problem = null;
            return true;
        }
        catch (ArgumentException ex)
        {
            // SaslPrep's messages name the problem and never the value; the parameter name is .NET's suffix, not ours.
            problem = ex.Message.Replace($" (Parameter '{nameof(password)}')", string.Empty, StringComparison.Ordinal);
            return false;
        }
    }
}
