namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>How the fake server answers one query name.</summary>
internal sealed record FakeDnsEntry
{
    /// <summary>The answer section.</summary>
    public IReadOnlyList<FakeDnsRecord> Answers { get; init; } = [];

    /// <summary>RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.</summary>
    public int ResponseCode { get; init; }

    /// <summary>Over UDP, answer with TC set and no answers, so the client must ask again over TCP.</summary>
    public bool TruncateOverUdp { get; init; }

    /// <summary>Compress names (owner and SRV target) with pointers to earlier names.</summary>
    public bool Compress { get; init; } = true;

    /// <summary>
    /// Over UDP, first send decoys: a 3-octet scrap, the answer with a wrong ID, and the answer to another question
    /// with the right ID.
    /// </summary>
    public bool DecoysFirst { get; init; }

    /// <summary>Never answer this name.</summary>
    public bool Silent { get; init; }

    /// <summary>Replaces the answer with these bytes, built from the query (for malformed and hostile answers).</summary>
    public Func<byte[], byte[]>? Raw { get; init; }

    public static FakeDnsEntry Of(params FakeDnsRecord[] answers) => new() { Answers = answers };
}
