namespace XmppTransfer.Core.Transport.Dns;

/// <summary>A DNS response that matched our query, reduced to what the SRV client needs.</summary>
/// <param name="ResponseCode">The RCODE of the header.</param>
/// <param name="IsTruncated">The TC bit: the answer did not fit the datagram and must be asked again over TCP.</param>
/// <param name="Records">SRV answers owned by the query name or an alias of it; empty when truncated.</param>
internal sealed record DnsResponse(DnsResponseCode ResponseCode, bool IsTruncated, IReadOnlyList<SrvRecord> Records);
