namespace XmppTransfer.Core.Transport.Dns;

/// <summary>RCODE values of the DNS header (RFC 1035 section 4.1.1) that the client tells apart.</summary>
internal enum DnsResponseCode
{
    NoError = 0,
    FormatError = 1,
    ServerFailure = 2,
    NameError = 3,
    NotImplemented = 4,
    Refused = 5,
}
