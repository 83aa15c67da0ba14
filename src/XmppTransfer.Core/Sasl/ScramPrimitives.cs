using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>The SCRAM functions of RFC 5802 §2.2 (H, HMAC, Hi) and the derived keys of §3, per hash algorithm.</summary>
internal static class ScramPrimitives
{
    private static readonly byte[] s_clientKeyLabel = Encoding.ASCII.GetBytes("Client Key");
    private static readonly byte[] s_serverKeyLabel = Encoding.ASCII.GetBytes("Server Key");

    public static string MechanismName(ScramHashAlgorithm algorithm, bool plus) => (algorithm, plus) switch
    {
        (ScramHashAlgorithm.Sha1, false) => "SCRAM-SHA-1",
        (ScramHashAlgorithm.Sha1, true) => "SCRAM-SHA-1-PLUS",
        (ScramHashAlgorithm.Sha256, false) => "SCRAM-SHA-256",
        (ScramHashAlgorithm.Sha256, true) => "SCRAM-SHA-256-PLUS",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static int HashSize(ScramHashAlgorithm algorithm) => algorithm switch
    {
        ScramHashAlgorithm.Sha1 => SHA1.HashSizeInBytes,
        ScramHashAlgorithm.Sha256 => SHA256.HashSizeInBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static byte[] Hash(ScramHashAlgorithm algorithm, ReadOnlySpan<byte> data) => algorithm switch
    {
        ScramHashAlgorithm.Sha1 => SHA1.HashData(data),
        ScramHashAlgorithm.Sha256 => SHA256.HashData(data),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static byte[] Hmac(ScramHashAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => algorithm switch
    {
        ScramHashAlgorithm.Sha1 => HMACSHA1.HashData(key, data),
        ScramHashAlgorithm.Sha256 => HMACSHA256.HashData(key, data),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>Hi(Normalize(password), salt, i): PBKDF2 with one output block. The password must already be SASLprep'd.</summary>
    public static byte[] SaltedPassword(ScramHashAlgorithm algorithm, string preparedPassword, ReadOnlySpan<byte> salt, int iterations)
    {
        var hashName = algorithm == ScramHashAlgorithm.Sha1 ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;
        var passwordBytes = Encoding.UTF8.GetBytes(preparedPassword);
        try
        {
            return Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, iterations, hashName, HashSize(algorithm));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordBytes);
        }
    }

    public static byte[] ClientKey(ScramHashAlgorithm algorithm, ReadOnlySpan<byte> saltedPassword) =>
        Hmac(algorithm, saltedPassword, s_clientKeyLabel);

    public static byte[] ServerKey(ScramHashAlgorithm algorithm, ReadOnlySpan<byte> saltedPassword) =>
        Hmac(algorithm, saltedPassword, s_serverKeyLabel);

    /// <summary>XORs <paramref name="other"/> into <paramref name="target"/>; both have the hash length.</summary>
    public static void Xor(Span<byte> target, ReadOnlySpan<byte> other)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] ^= other[i];
        }
    }
}
