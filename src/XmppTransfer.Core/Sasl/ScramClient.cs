using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// The client side of SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677), with
/// <c>tls-server-end-point</c> channel binding (RFC 5929).
/// </summary>
/// <remarks>
/// <code>
/// C: gs2-header client-first-bare       n,,n=user,r=CNONCE
/// S: server-first                        r=CNONCE+SNONCE,s=SALT,i=4096
/// C: client-final                        c=base64(gs2-header + cb-data),r=CNONCE+SNONCE,p=PROOF
/// S: server-final (in success or a challenge)  v=SERVER-SIGNATURE  |  e=error
/// </code>
/// Every failure is an <see cref="XmppConnectionException"/> with <see cref="XmppErrorKind.Authentication"/>,
/// including a malformed or hostile server message: the caller aborts the exchange either way.
/// </remarks>
internal sealed class ScramClient : SaslMechanism
{
    /// <summary>Iteration counts above this are refused as a denial-of-service attempt by the server.</summary>
    public const int MaxIterations = 1_000_000;

    private const int NonceBytes = 24;

    private readonly ScramHashAlgorithm _algorithm;
    private readonly string _preparedPassword;
    private readonly ScramChannelBinding _binding;
    private readonly string _clientNonce;
    private readonly string _clientFirstBare;
    private byte[]? _expectedServerSignature;
    private State _state;

    /// <param name="algorithm">The hash function.</param>
    /// <param name="username">The user name (the local part for XMPP); SASLprep'd and escaped here.</param>
    /// <param name="password">The password; SASLprep'd here.</param>
    /// <param name="binding">The GS2 header to send; a -PLUS mechanism when it carries channel-binding data.</param>
    /// <param name="clientNonce">A fixed nonce for test vectors; random (24 bytes, base64) when null.</param>
    public ScramClient(ScramHashAlgorithm algorithm, string username, string password, ScramChannelBinding binding, string? clientNonce = null)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (!Enum.IsDefined(algorithm))
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm));
        }

        var preparedUsername = SaslPrep.Prepare(username, nameof(username));
        if (preparedUsername.Length == 0)
        {
            throw new ArgumentException("The user name is empty after SASLprep.", nameof(username));
        }

        _preparedPassword = SaslPrep.Prepare(password, nameof(password));
        if (_preparedPassword.Length == 0)
        {
            throw new ArgumentException("The password is empty after SASLprep.", nameof(password));
        }

        if (clientNonce is not null && !ScramAttributes.IsValidNonce(clientNonce))
        {
            throw new ArgumentException("A nonce is printable ASCII without commas.", nameof(clientNonce));
        }

        _algorithm = algorithm;
        _binding = binding;
        _clientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(NonceBytes));
        _clientFirstBare = "n=" + ScramAttributes.EscapeUsername(preparedUsername) + ",r=" + _clientNonce;
        Name = ScramPrimitives.MechanismName(algorithm, binding.IsPlus);
    }

    private enum State
    {
        Initial,
        ClientFirstSent,
        ClientFinalSent,
        Complete,
        Failed,
    }

    public override string Name { get; }

    public override bool IsComplete => _state == State.Complete;

    public override byte[] GetInitialResponse()
    {
        if (_state != State.Initial)
        {
            throw new InvalidOperationException("The initial response has already been produced.");
        }

        _state = State.ClientFirstSent;
        return Encoding.UTF8.GetBytes(_binding.Gs2Header + _clientFirstBare);
    }

    public override byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge)
    {
        switch (_state)
        {
            case State.ClientFirstSent:
                return HandleServerFirst(challenge);
            case State.ClientFinalSent:
                // Some servers send server-final as a challenge and <success/> without data; answer with nothing.
                VerifyServerFinal(challenge);
                return [];
            default:
                throw Fail("The server sent a challenge at an unexpected point of the exchange.");
        }
    }

    public override void VerifySuccess(ReadOnlySpan<byte> additionalData)
    {
        if (_state == State.Complete && additionalData.IsEmpty)
        {
            return;
        }

        // Complete with data: server-final came as a challenge and is repeated in success; it must verify again.
        if (_state is not State.ClientFinalSent and not State.Complete)
        {
            throw Fail("The server reported success before the SCRAM exchange was complete.");
        }

        VerifyServerFinal(additionalData);
    }

    private byte[] HandleServerFirst(ReadOnlySpan<byte> challenge)
    {
        var serverFirst = ScramAttributes.TryDecode(challenge) ?? throw Fail("The server-first message is not UTF-8 text.");
        var attributes = ScramAttributes.TryParse(serverFirst) ?? throw Fail("The server-first message is malformed.");
        var error = ScramAttributes.Find(attributes, 'e');
        if (error is not null)
        {
            throw Fail("The server refused authentication: " + Describe(error) + ".");
        }

        // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
        if (attributes.Count < 3 || attributes[0].Key != 'r' || attributes[1].Key != 's' || attributes[2].Key != 'i')
        {
            throw Fail("The server-first message is malformed (mandatory extension or missing attributes).");
        }

        var nonce = attributes[0].Value;
        if (!ScramAttributes.IsValidNonce(nonce) || nonce.Length <= _clientNonce.Length
            || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal))
        {
            throw Fail("The server nonce does not extend the client nonce.");
        }

        var salt = ScramAttributes.TryFromBase64(attributes[1].Value);
        if (salt is null || salt.Length == 0)
        {
            throw Fail("The server sent no valid salt.");
        }

        if (!int.TryParse(attributes[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            throw Fail("The server sent an invalid iteration count.");
        }

        if (iterations > MaxIterations)
        {
            throw Fail($"The server asked for {iterations} iterations; more than {MaxIterations} is refused.");
        }

        var clientFinalWithoutProof = "c=" + Convert.ToBase64String(_binding.GetChannelBindingInput()) + ",r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof);

        var saltedPassword = ScramPrimitives.SaltedPassword(_algorithm, _preparedPassword, salt, iterations);
        var clientKey = ScramPrimitives.ClientKey(_algorithm, saltedPassword);
        var storedKey = ScramPrimitives.Hash(_algorithm, clientKey);
        var clientSignature = ScramPrimitives.Hmac(_algorithm, storedKey, authMessage);
        var serverKey = ScramPrimitives.ServerKey(_algorithm, saltedPassword);
        try
        {
            _expectedServerSignature = ScramPrimitives.Hmac(_algorithm, serverKey, authMessage);

            // ClientProof = ClientKey XOR ClientSignature, computed in place in clientKey.
            ScramPrimitives.Xor(clientKey, clientSignature);
            _state = State.ClientFinalSent;
            return Encoding.UTF8.GetBytes(clientFinalWithoutProof + ",p=" + Convert.ToBase64String(clientKey));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(saltedPassword);
            CryptographicOperations.ZeroMemory(clientKey);
            CryptographicOperations.ZeroMemory(storedKey);
            CryptographicOperations.ZeroMemory(clientSignature);
            CryptographicOperations.ZeroMemory(serverKey);
        }
    }

    private void VerifyServerFinal(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw Fail("The server did not send its signature, so it could not be authenticated.");
        }

        var serverFinal = ScramAttributes.TryDecode(data) ?? throw Fail("The server-final message is not UTF-8 text.");
        var attributes = ScramAttributes.TryParse(serverFinal) ?? throw Fail("The server-final message is malformed.");
        var first = attributes[0];
        if (first.Key == 'e')
        {
            throw Fail("The server refused authentication: " + Describe(first.Value) + ".");
        }

        var signature = first.Key == 'v' ? ScramAttributes.TryFromBase64(first.Value) : null;
        if (signature is null || _expectedServerSignature is null
            || !CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature))
        {
            throw Fail("The server signature is wrong: the server does not know the credentials.");
        }

        _state = State.Complete;
    }

    private XmppConnectionException Fail(string message)
    {
        _state = State.Failed;
        return new XmppConnectionException(XmppErrorKind.Authentication, Name + ": " + message);
    }

    // server-error-value is a short token such as "invalid-proof"; keep only that shape, bounded.
    private static string Describe(string error)
    {
        var builder = new StringBuilder("'");
        foreach (var c in error.AsSpan(0, Math.Min(error.Length, 64)))
        {
            builder.Append(c is >= (char)0x20 and <= (char)0x7E ? c : '?');
        }

        return builder.Append('\'').ToString();
    }
}
