using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class TlsChannelBindingTests
{
    [Fact]
    public void An_rsa_sha_256_certificate_binds_to_the_sha_256_of_its_der()
    {
        using var rsa = RSA.Create(2048);
        using var certificate = SelfSigned(new CertificateRequest("CN=a.example", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        Assert.Equal(SHA256.HashData(certificate.RawData), TlsChannelBinding.GetTlsServerEndPoint(certificate));
    }

    [Fact]
    public void An_ecdsa_sha_384_certificate_binds_to_the_sha_384_of_its_der()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var certificate = SelfSigned(new CertificateRequest("CN=a.example", ecdsa, HashAlgorithmName.SHA384));

        Assert.Equal(SHA384.HashData(certificate.RawData), TlsChannelBinding.GetTlsServerEndPoint(certificate));
    }

    [Fact]
    public void An_ecdsa_sha_512_certificate_binds_to_the_sha_512_of_its_der()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = SelfSigned(new CertificateRequest("CN=a.example", ecdsa, HashAlgorithmName.SHA512));

        Assert.Equal(SHA512.HashData(certificate.RawData), TlsChannelBinding.GetTlsServerEndPoint(certificate));
    }

    [Fact]
    public void An_rsa_pss_certificate_uses_the_hash_in_its_parameters()
    {
        using var rsa = RSA.Create(2048);
        using var certificate = SelfSigned(new CertificateRequest("CN=a.example", rsa, HashAlgorithmName.SHA384, RSASignaturePadding.Pss));

        Assert.Equal("1.2.840.113549.1.1.10", certificate.SignatureAlgorithm.Value);
        Assert.Equal(SHA384.HashData(certificate.RawData), TlsChannelBinding.GetTlsServerEndPoint(certificate));
    }

    [Fact]
    public void No_certificate_gives_no_binding()
    {
        Assert.Null(TlsChannelBinding.GetTlsServerEndPoint(null));
    }

    private static X509Certificate2 SelfSigned(CertificateRequest request) =>
        request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
}
