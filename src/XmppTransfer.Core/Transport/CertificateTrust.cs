using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XmppTransfer.Core.Transport;

/// <summary>
/// Decides whether to trust a server certificate: a pinned SHA-256 fingerprint wins outright;
/// otherwise a CA file replaces the system roots; otherwise the system's verdict stands. The
/// host name must always match unless the certificate is pinned.
/// </summary>
internal sealed class CertificateTrust
{
    private readonly byte[]? _pin;
    private readonly X509Certificate2Collection? _roots;

    public CertificateTrust(string? sha256Pin, string? caFile)
    {
        if (!string.IsNullOrWhiteSpace(sha256Pin))
        {
            var hex = sha256Pin.Replace(":", string.Empty, StringComparison.Ordinal).Trim();
            try
            {
                _pin = Convert.FromHexString(hex);
            }
            catch (FormatException ex)
            {
                throw new ArgumentException("The certificate pin must be the SHA-256 fingerprint in hex (64 digits, colons allowed).", nameof(sha256Pin), ex);
            }

            if (_pin.Length != 32)
            {
                throw new ArgumentException("The certificate pin must be a SHA-256 fingerprint: 32 bytes, 64 hex digits.", nameof(sha256Pin));
            }
        }

        if (!string.IsNullOrWhiteSpace(caFile))
        {
            _roots = [];
            _roots.ImportFromPemFile(caFile);
        }
    }

    /// <summary>Why the last certificate was refused, for the error message.</summary>
    public string? LastFailure { get; private set; }

    public static string Fingerprint(X509Certificate certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            LastFailure = "the server sent no certificate";
            return false;
        }

        if (_pin is not null)
        {
            var actual = SHA256.HashData(certificate.GetRawCertData());
            if (CryptographicOperations.FixedTimeEquals(actual, _pin))
            {
                return true;
            }

            LastFailure = $"the server certificate's SHA-256 is {Convert.ToHexStringLower(actual)}, not the pinned one";
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            LastFailure = "the certificate does not match the server's domain";
            return false;
        }

        if (_roots is not null)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var cert2 = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            if (custom.Build(cert2))
            {
                return true;
            }

            LastFailure = "the certificate does not chain to the given CA file";
            return false;
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        LastFailure = $"the certificate is not trusted ({errors}); pin it with its SHA-256 fingerprint "
            + $"{Fingerprint(certificate)} or give a CA file";
        return false;
    }
}
