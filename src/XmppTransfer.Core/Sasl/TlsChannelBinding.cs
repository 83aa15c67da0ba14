using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// RFC 5929 §4 <c>tls-server-end-point</c>: the hash of the TLS server certificate (DER), with the hash function
/// of the certificate's signature algorithm, MD5 and SHA-1 upgraded to SHA-256. The client passes the server's
/// certificate, the server its own; both get the same bytes.
/// </summary>
internal static class TlsChannelBinding
{
    /// <summary>The binding data, or null when there is no certificate or its signature hash is unknown (e.g. Ed25519).</summary>
    public static byte[]? GetTlsServerEndPoint(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return null;
        }

        var hash = certificate.SignatureAlgorithm.Value switch
        {
            // md5WithRSAEncryption, sha1WithRSAEncryption, ecdsa-with-SHA1, dsa-with-sha1: upgraded to SHA-256.
            "1.2.840.113549.1.1.4" or "1.2.840.113549.1.1.5" or "1.2.840.10045.4.1" or "1.2.840.10040.4.3" => HashAlgorithmName.SHA256,
            // sha256WithRSAEncryption, ecdsa-with-SHA256, dsa-with-sha256.
            "1.2.840.113549.1.1.11" or "1.2.840.10045.4.3.2" or "2.16.840.1.101.3.4.3.2" => HashAlgorithmName.SHA256,
            // sha384WithRSAEncryption, ecdsa-with-SHA384.
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            // sha512WithRSAEncryption, ecdsa-with-SHA512.
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            // id-RSASSA-PSS: the hash is in the algorithm parameters.
            "1.2.840.113549.1.1.10" => PssHash(certificate.RawData),
            _ => default,
        };

        return hash.Name switch
        {
            nameof(HashAlgorithmName.SHA256) => SHA256.HashData(certificate.RawData),
            nameof(HashAlgorithmName.SHA384) => SHA384.HashData(certificate.RawData),
            nameof(HashAlgorithmName.SHA512) => SHA512.HashData(certificate.RawData),
            _ => null,
        };
    }

    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }   (RFC 4055)
    private static HashAlgorithmName PssHash(byte[] der)
    {
        try
        {
            var certificate = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            certificate.ReadEncodedValue();
            var algorithm = certificate.ReadSequence();
            algorithm.ReadObjectIdentifier();
            if (!algorithm.HasData)
            {
                return HashAlgorithmName.SHA256;
            }

            var parameters = algorithm.ReadSequence();
            var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(hashTag))
            {
                return HashAlgorithmName.SHA256; // default sha1, upgraded
            }

            var hashAlgorithm = parameters.ReadSequence(hashTag).ReadSequence();
            return hashAlgorithm.ReadObjectIdentifier() switch
            {
                "1.2.840.113549.2.5" or "1.3.14.3.2.26" or "2.16.840.1.101.3.4.2.1" => HashAlgorithmName.SHA256,
                "2.16.840.1.101.3.4.2.2" => HashAlgorithmName.SHA384,
                "2.16.840.1.101.3.4.2.3" => HashAlgorithmName.SHA512,
                _ => default,
            };
        }
        catch (AsnContentException)
        {
            return default;
        }
    }
}
