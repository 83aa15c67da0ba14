using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// Loads the configured certificate (PFX/PKCS#12 or PEM), or a self-signed one kept in the data folder
/// (<c>server-cert.pem</c>, <c>server-key.pem</c> with mode 0600), created on first start: ECDSA P-256,
/// SHA-256, subject and SAN the domain and <c>*.domain</c> (the proxy and components), server auth, 10 years.
/// </summary>
internal static class ServerCertificate
{
    public const string CertificateFile = "server-cert.pem";
    public const string KeyFile = "server-key.pem";

    public static X509Certificate2 Load(ServerOptions options)
    {
        if (options.CertificatePath is { } path)
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            return extension is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword)
                : X509Certificate2.CreateFromPemFile(path, options.CertificateKeyPath);
        }

        if (options.DataDirectory is null)
        {
            return Create(options.Domain, out _, out _);
        }

        var certificatePath = Path.Combine(options.DataDirectory, CertificateFile);
        var keyPath = Path.Combine(options.DataDirectory, KeyFile);
        if (File.Exists(certificatePath) && File.Exists(keyPath))
        {
            var existing = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            if (existing.MatchesHostname(options.Domain))
            {
                return existing;
            }

            // The domain changed since the certificate was made: make a new one.
            existing.Dispose();
        }

        Directory.CreateDirectory(options.DataDirectory);
        var created = Create(options.Domain, out var certificatePem, out var keyPem);
        WritePrivate(keyPath, keyPem);
        File.WriteAllText(certificatePath, certificatePem);
        return created;
    }

    /// <summary>The SHA-256 fingerprint as colon-separated upper-case hex (what <c>TrustedCertificateSha256</c> accepts).</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', SHA256.HashData(certificate.RawData).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    private static X509Certificate2 Create(string domain, out string certificatePem, out string keyPem)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + domain, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(domain);
        san.AddDnsName("*." + domain);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        certificatePem = certificate.ExportCertificatePem();
        keyPem = key.ExportPkcs8PrivateKeyPem();
        return X509Certificate2.CreateFromPem(certificatePem, keyPem);
    }

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
