using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// The server side of one SCRAM exchange (RFC 5802 §5, RFC 7677), for the embedded server.
/// </summary>
/// <remarks>
/// <code>
/// C: gs2-header client-first-bare    (n|y|p=tls-server-end-point),[a=authzid],n=user,r=CNONCE
/// S: server-first                     r=CNONCE+SNONCE,s=SALT,i=ITERATIONS      (HandleClientFirst)
/// C: client-final                     c=base64(gs2-header [+ cb-data]),r=CNONCE+SNONCE,p=PROOF
/// S: server-final                     v=SERVER-SIGNATURE                        (HandleClientFinal)
/// </code>
/// An unknown user (or a credential stored for another hash) gets a complete fake exchange with a salt that is
/// stable per user name for the life of the process, and fails at the proof with <c>not-authorized</c>, like a
/// wrong password. Failures throw <see cref="SaslAuthenticationException"/>; the instance is then spent.
/// </remarks>
internal sealed class ScramServer
{
    private const int NonceBytes = 18;
    private const int MaxClientNonceLength = 256;

    // Keys the fake salts: the same unknown name gets the same salt on every attempt in this process.
    private static readonly byte[] s_fakeSaltKey = RandomNumberGenerator.GetBytes(32);

    private readonly ScramHashAlgorithm _algorithm;
    private readonly Func<string, ScramCredential?> _lookup;
    private readonly byte[]? _channelBindingData;
    private readonly bool _plusVariant;
    private readonly int _fakeIterations;
    private readonly string? _nonceSuffix;

    private State _state;
    private string? _username;
    private ScramCredential? _credential;
    private byte[]? _expectedChannelBinding;
    private string? _nonce;
    private string? _clientFirstBare;
    private string? _serverFirst;

    /// <param name="algorithm">The hash of this mechanism.</param>
    /// <param name="lookup">Finds the stored credential by SASLprep'd user name; null for an unknown user.</param>
    /// <param name="channelBindingData">Our <c>tls-server-end-point</c> bytes when we offer -PLUS mechanisms; else null.</param>
    /// <param name="plusVariant">True when the client chose the -PLUS mechanism.</param>
    /// <param name="fakeIterations">The iteration count shown for unknown users; match what real credentials use.</param>
    /// <param name="nonceSuffix">A fixed server nonce part for test vectors; random when null.</param>
    public ScramServer(
        ScramHashAlgorithm algorithm,
        Func<string, ScramCredential?> lookup,
        byte[]? channelBindingData,
        bool plusVariant,
        int fakeIterations = 4096,
        string? nonceSuffix = null)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        ArgumentOutOfRangeException.ThrowIfLessThan(fakeIterations, 1);
        if (!Enum.IsDefined(algorithm))
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm));
        }

        if (plusVariant && channelBindingData is not { Length: > 0 })
        {
            throw new ArgumentException("A -PLUS mechanism needs channel-binding data.", nameof(channelBindingData));
        }

        if (nonceSuffix is not null && !ScramAttributes.IsValidNonce(nonceSuffix))
        {
            throw new ArgumentException("A nonce is printable ASCII without commas.", nameof(nonceSuffix));
        }

        _algorithm = algorithm;
        _lookup = lookup;
        _channelBindingData = channelBindingData is { Length: > 0 } ? (byte[])channelBindingData.Clone() : null;
        _plusVariant = plusVariant;
        _fakeIterations = fakeIterations;
        _nonceSuffix = nonceSuffix;
        Mechanism = ScramPrimitives.MechanismName(algorithm, plusVariant);
    }

    private enum State
    {
        Initial,
        ServerFirstSent,
        Succeeded,
        Failed,
    }

    /// <summary>The mechanism name, e.g. <c>SCRAM-SHA-256-PLUS</c>.</summary>
    public string Mechanism { get; }

    /// <summary>The SASLprep'd user name once the exchange has succeeded; null before and after a failure.</summary>
    public string? AuthenticatedUsername => _state == State.Succeeded ? _username : null;

    /// <summary>Validates client-first and returns server-first.</summary>
    public byte[] HandleClientFirst(ReadOnlySpan<byte> clientFirst)
    {
        if (_state != State.Initial)
        {
            throw new InvalidOperationException("client-first has already been handled.");
        }

        _state = State.Failed;
        var message = ScramAttributes.TryDecode(clientFirst) ?? throw Malformed("client-first is not UTF-8 text or is too long.");

        // gs2-header = gs2-cbind-flag "," [ authzid ] ","
        var firstComma = message.IndexOf(',', StringComparison.Ordinal);
        var secondComma = firstComma < 0 ? -1 : message.IndexOf(',', firstComma + 1);
        if (secondComma < 0)
        {
            throw Malformed("client-first has no GS2 header.");
        }

        var flag = message[..firstComma];
        var authzid = message[(firstComma + 1)..secondComma];
        var gs2Header = message[..(secondComma + 1)];
        _expectedChannelBinding = ExpectedChannelBinding(flag, gs2Header);

        // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        _clientFirstBare = message[(secondComma + 1)..];
        var attributes = ScramAttributes.TryParse(_clientFirstBare);
        if (attributes is null || attributes.Count < 2 || attributes[0].Key != 'n' || attributes[1].Key != 'r')
        {
            throw Malformed("client-first-message-bare is malformed or has a mandatory extension.");
        }

        var username = ScramAttributes.TryUnescapeUsername(attributes[0].Value) ?? throw Malformed("The user name is badly escaped.");
        try
        {
            _username = SaslPrep.Prepare(username, "username");
        }
        catch (ArgumentException)
        {
            throw Malformed("The user name is prohibited by SASLprep.");
        }

        if (_username.Length == 0)
        {
            throw Malformed("The user name is empty.");
        }

        if (authzid.Length != 0)
        {
            var authorizationId = authzid.StartsWith("a=", StringComparison.Ordinal)
                ? ScramAttributes.TryUnescapeUsername(authzid[2..])
                : null;
            if (authorizationId is null)
            {
                throw Malformed("The authorization identity is malformed.");
            }

            if (!string.Equals(authorizationId, username, StringComparison.Ordinal)
                && !string.Equals(authorizationId, _username, StringComparison.Ordinal))
            {
                throw new SaslAuthenticationException(
                    SaslFailureCondition.InvalidAuthzid, Mechanism + ": authorizing as another identity is not supported.");
            }
        }

        var clientNonce = attributes[1].Value;
        if (!ScramAttributes.IsValidNonce(clientNonce) || clientNonce.Length > MaxClientNonceLength)
        {
            throw Malformed("The client nonce is not printable ASCII or is too long.");
        }

        var expectedMechanism = ScramPrimitives.MechanismName(_algorithm, plus: false);
        var credential = _lookup(_username);
        _credential = credential is not null && string.Equals(credential.Mechanism, expectedMechanism, StringComparison.Ordinal)
            && credential.Salt is { Length: > 0 } && credential.Iterations >= 1
            && credential.StoredKey?.Length == ScramPrimitives.HashSize(_algorithm)
            && credential.ServerKey?.Length == ScramPrimitives.HashSize(_algorithm)
            ? credential
            : null;
        var salt = _credential?.Salt ?? FakeSalt(_username);
        var iterations = _credential?.Iterations ?? _fakeIterations;

        _nonce = clientNonce + (_nonceSuffix ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(NonceBytes)));
        _serverFirst = "r=" + _nonce + ",s=" + Convert.ToBase64String(salt) + ",i=" + iterations.ToString(CultureInfo.InvariantCulture);
        _state = State.ServerFirstSent;
        return Encoding.UTF8.GetBytes(_serverFirst);
    }

    /// <summary>Validates client-final (channel binding, nonce, proof) and returns server-final (<c>v=</c>).</summary>
    public byte[] HandleClientFinal(ReadOnlySpan<byte> clientFinal)
    {
        if (_state != State.ServerFirstSent)
        {
            throw new InvalidOperationException("client-final is only valid right after server-first.");
        }

        _state = State.Failed;
        var message = ScramAttributes.TryDecode(clientFinal) ?? throw Malformed("client-final is not UTF-8 text or is too long.");

        // client-final-message = channel-binding "," nonce ["," extensions] "," proof
        var proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
        {
            throw Malformed("client-final has no proof.");
        }

        var withoutProof = message[..proofAt];
        var attributes = ScramAttributes.TryParse(withoutProof);
        if (attributes is null || attributes.Count < 2 || attributes[0].Key != 'c' || attributes[1].Key != 'r')
        {
            throw Malformed("client-final is malformed.");
        }

        var channelBinding = ScramAttributes.TryFromBase64(attributes[0].Value);
        if (channelBinding is null || !CryptographicOperations.FixedTimeEquals(channelBinding, _expectedChannelBinding))
        {
            throw NotAuthorized("the channel binding does not match.");
        }

        if (!string.Equals(attributes[1].Value, _nonce, StringComparison.Ordinal))
        {
            throw NotAuthorized("the nonce does not match server-first.");
        }

        var proof = ScramAttributes.TryFromBase64(message[(proofAt + 3)..]);
        if (proof is null || proof.Length != ScramPrimitives.HashSize(_algorithm))
        {
            throw Malformed("the proof is not valid base64 of the hash length.");
        }

        // An unknown user runs the same computation against throw-away keys.
        var storedKey = _credential?.StoredKey ?? RandomNumberGenerator.GetBytes(proof.Length);
        var serverKey = _credential?.ServerKey ?? RandomNumberGenerator.GetBytes(proof.Length);
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + _serverFirst + "," + withoutProof);
        var clientSignature = ScramPrimitives.Hmac(_algorithm, storedKey, authMessage);
        try
        {
            // ClientKey = ClientProof XOR ClientSignature; the proof is right when H(ClientKey) == StoredKey.
            ScramPrimitives.Xor(proof, clientSignature);
            var candidate = ScramPrimitives.Hash(_algorithm, proof);
            if (!CryptographicOperations.FixedTimeEquals(candidate, storedKey) || _credential is null)
            {
                throw NotAuthorized("the proof is wrong or the user is unknown.");
            }

            _state = State.Succeeded;
            return Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(ScramPrimitives.Hmac(_algorithm, serverKey, authMessage)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(proof);
            CryptographicOperations.ZeroMemory(clientSignature);
        }
    }

    // What c= must decode to, checked against the GS2 flag (RFC 5802 §6 and §7).
    private byte[] ExpectedChannelBinding(string flag, string gs2Header)
    {
        var header = Encoding.UTF8.GetBytes(gs2Header);
        if (_plusVariant)
        {
            if (!string.Equals(flag, "p=" + ScramChannelBinding.TlsServerEndPointType, StringComparison.Ordinal))
            {
                throw Malformed("a -PLUS mechanism needs the p=tls-server-end-point flag.");
            }

            var data = _channelBindingData!;
            var expected = new byte[header.Length + data.Length];
            header.CopyTo(expected, 0);
            data.CopyTo(expected, header.Length);
            return expected;
        }

        switch (flag)
        {
            case "n":
                return header;
            case "y" when _channelBindingData is not null:
                // The client could bind and we offer -PLUS, yet it saw none: someone removed it on the way.
                throw NotAuthorized("the client saw no -PLUS mechanism although one is offered (downgrade).");
            case "y":
                return header;
            default:
                throw Malformed("the GS2 channel-binding flag is invalid for a mechanism without -PLUS.");
        }
    }

    private byte[] FakeSalt(string username)
    {
        // Keyed by the hash, not the -PLUS variant: a real user has one salt for both.
        var input = Encoding.UTF8.GetBytes(ScramPrimitives.MechanismName(_algorithm, plus: false) + "\0" + username);
        return HMACSHA256.HashData(s_fakeSaltKey, input).AsSpan(0, 16).ToArray();
    }

    private SaslAuthenticationException Malformed(string reason) =>
        new(SaslFailureCondition.MalformedRequest, Mechanism + ": " + reason);

    private SaslAuthenticationException NotAuthorized(string reason) =>
        new(SaslFailureCondition.NotAuthorized, Mechanism + ": authentication failed: " + reason);
}
