using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// What a server stores for one user and one SCRAM hash (RFC 5802 §3): never the password itself.
/// <see cref="ToString"/> shows the mechanism and iteration count only.
/// </summary>
/// <param name="Mechanism"><c>SCRAM-SHA-1</c> or <c>SCRAM-SHA-256</c>.</param>
/// <param name="Salt">The salt sent to clients.</param>
/// <param name="Iterations">The PBKDF2 iteration count sent to clients.</param>
/// <param name="StoredKey">H(ClientKey).</param>
/// <param name="ServerKey">HMAC(SaltedPassword, "Server Key").</param>
public sealed record ScramCredential(string Mechanism, byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey)
{
    /// <summary>Derives the credential from a password (SASLprep'd here).</summary>
    /// <param name="algorithm">The SCRAM hash.</param>
    /// <param name="password">The password.</param>
    /// <param name="iterations">PBKDF2 iterations, at least 1 (RFC 5802 recommends at least 4096).</param>
    /// <param name="salt">The salt; 16 random bytes when null.</param>
    public static ScramCredential Create(ScramHashAlgorithm algorithm, string password, int iterations = 4096, byte[]? salt = null)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (!Enum.IsDefined(algorithm))
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm));
        }

        if (salt is { Length: 0 })
        {
            throw new ArgumentException("The salt must not be empty.", nameof(salt));
        }

        var prepared = SaslPrep.Prepare(password, nameof(password));
        if (prepared.Length == 0)
        {
            throw new ArgumentException("The password is empty after SASLprep.", nameof(password));
        }

        var actualSalt = salt is null ? RandomNumberGenerator.GetBytes(16) : (byte[])salt.Clone();
        var saltedPassword = ScramPrimitives.SaltedPassword(algorithm, prepared, actualSalt, iterations);
        var clientKey = ScramPrimitives.ClientKey(algorithm, saltedPassword);
        try
        {
            return new ScramCredential(
                ScramPrimitives.MechanismName(algorithm, plus: false),
                actualSalt,
                iterations,
                ScramPrimitives.Hash(algorithm, clientKey),
                ScramPrimitives.ServerKey(algorithm, saltedPassword));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(saltedPassword);
            CryptographicOperations.ZeroMemory(clientKey);
        }
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Mechanism = ").Append(Mechanism).Append(", Iterations = ").Append(Iterations);
        return true;
    }
}
