using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// The server side of PLAIN (RFC 4616): <c>[authzid] NUL authcid NUL passwd</c>. The user name and password are
/// SASLprep'd before they reach the verifier. Offer it over TLS only.
/// </summary>
internal sealed class PlainServer
{
    private const int MaxMessageLength = 1024;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Func<string, string, bool> _verifier;
    private bool _used;

    /// <param name="verifier">Given the prepared user name and password, true when they are correct.</param>
    public PlainServer(Func<string, string, bool> verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        _verifier = verifier;
    }

    /// <summary>The SASLprep'd user name once <see cref="Authenticate"/> has succeeded.</summary>
    public string? AuthenticatedUsername { get; private set; }

    /// <summary>Checks the initial response; throws <see cref="SaslAuthenticationException"/> when it is refused.</summary>
    public void Authenticate(ReadOnlySpan<byte> response)
    {
        if (_used)
        {
            throw new InvalidOperationException("This PLAIN exchange has already been used.");
        }

        _used = true;
        if (response.Length > MaxMessageLength)
        {
            throw Malformed("the message is too long.");
        }

        string message;
        try
        {
            message = s_strictUtf8.GetString(response);
        }
        catch (DecoderFallbackException)
        {
            throw Malformed("the message is not UTF-8 text.");
        }

        var parts = message.Split('\0');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2].Length == 0)
        {
            throw Malformed("the message is not authzid NUL authcid NUL passwd.");
        }

        string username;
        string password;
        try
        {
            username = SaslPrep.Prepare(parts[1], "authcid");
            password = SaslPrep.Prepare(parts[2], "passwd");
        }
        catch (ArgumentException)
        {
            throw Malformed("the user name or password is prohibited by SASLprep.");
        }

        if (username.Length == 0 || password.Length == 0)
        {
            throw Malformed("the user name or password is empty.");
        }

        var authzid = parts[0];
        if (authzid.Length != 0 && !string.Equals(authzid, parts[1], StringComparison.Ordinal)
            && !string.Equals(authzid, username, StringComparison.Ordinal))
        {
            throw new SaslAuthenticationException(SaslFailureCondition.InvalidAuthzid, "PLAIN: authorizing as another identity is not supported.");
        }

        if (!_verifier(username, password))
        {
            throw new SaslAuthenticationException(SaslFailureCondition.NotAuthorized, "PLAIN: authentication failed.");
        }

        AuthenticatedUsername = username;
    }

    private static SaslAuthenticationException Malformed(string reason) =>
        new(SaslFailureCondition.MalformedRequest, "PLAIN: " + reason);
}
