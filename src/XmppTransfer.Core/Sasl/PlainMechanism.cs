using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>PLAIN (RFC 4616): <c>[authzid] NUL authcid NUL passwd</c> in one initial response. Use over TLS only.</summary>
internal sealed class PlainMechanism : SaslMechanism
{
    private readonly string _authorizationId;
    private readonly string _preparedUsername;
    private readonly string _preparedPassword;
    private bool _responded;
    private bool _complete;

    public PlainMechanism(string username, string password, string? authorizationId = null)
    {
        _preparedUsername = SaslPrep.Prepare(username, nameof(username));
        _preparedPassword = SaslPrep.Prepare(password, nameof(password));
        if (_preparedUsername.Length == 0)
        {
            throw new ArgumentException("The user name is empty after SASLprep.", nameof(username));
        }

        if (_preparedPassword.Length == 0)
        {
            throw new ArgumentException("The password is empty after SASLprep.", nameof(password));
        }

        _authorizationId = authorizationId ?? string.Empty;
        if (_authorizationId.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The authorization identity must not contain NUL.", nameof(authorizationId));
        }
    }

    public override string Name => "PLAIN";

    public override bool IsComplete => _complete;

    /// <summary>The response holds the password: the caller should clear it once sent.</summary>
    public override byte[] GetInitialResponse()
    {
        if (_responded)
        {
            throw new InvalidOperationException("The initial response has already been produced.");
        }

        _responded = true;
        return Encoding.UTF8.GetBytes(_authorizationId + "\0" + _preparedUsername + "\0" + _preparedPassword);
    }

    public override byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge) =>
        throw new XmppConnectionException(XmppErrorKind.Authentication, "PLAIN: the server sent a challenge; PLAIN has none.");

    public override void VerifySuccess(ReadOnlySpan<byte> additionalData)
    {
        if (!_responded)
        {
            throw new XmppConnectionException(XmppErrorKind.Authentication, "PLAIN: the server reported success before any response.");
        }

        // RFC 4616 defines no additional data with success; there is nothing to verify.
        _complete = true;
    }
}
