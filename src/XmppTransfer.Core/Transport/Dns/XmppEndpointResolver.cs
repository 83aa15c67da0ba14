using System.Globalization;
using System.Net;

namespace XmppTransfer.Core.Transport.Dns;

/// <summary>
/// Finds where to connect for an XMPP domain: SRV records of <c>_xmpps-client._tcp</c> (direct TLS, XEP-0368) and
/// <c>_xmpp-client._tcp</c> (STARTTLS, RFC 6120 section 3.2), falling back to the domain itself on port 5222.
/// </summary>
internal sealed class XmppEndpointResolver
{
    /// <summary>The port of the fallback endpoint (RFC 6120 section 3.2.2).</summary>
    public const int DefaultClientPort = 5222;

    private const string DirectTlsService = "_xmpps-client._tcp.";
    private const string StartTlsService = "_xmpp-client._tcp.";

    private static readonly IdnMapping s_idn = new();

    private readonly DnsClient _dnsClient;
    private readonly Random _random;

    public XmppEndpointResolver(DnsClient dnsClient)
        : this(dnsClient, Random.Shared)
    {
    }

    /// <param name="dnsClient">Asks the DNS.</param>
    /// <param name="random">Drives the weighted order within one priority (RFC 2782).</param>
    public XmppEndpointResolver(DnsClient dnsClient, Random random)
    {
        ArgumentNullException.ThrowIfNull(dnsClient);
        ArgumentNullException.ThrowIfNull(random);
        _dnsClient = dnsClient;
        _random = random;
    }

    /// <summary>
    /// Returns the endpoints to try, in order. Both SRV queries run concurrently; each service is ordered by RFC 2782
    /// and the two are merged by priority, direct TLS first on equal priority. Targets of <c>"."</c> are dropped and
    /// duplicates removed.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>No usable SRV record (none published, NXDOMAIN, or a failed or timed-out lookup) gives the single
    /// fallback <c>(domain, 5222, DirectTls: false)</c>; lookup failures are swallowed and not logged.</item>
    /// <item>When <c>_xmpp-client._tcp</c> consists of the single target <c>"."</c> the service is decidedly absent
    /// (RFC 2782): there is no fallback, and without direct TLS records the result is an empty list, which the caller
    /// must report as "this domain offers no client service".</item>
    /// <item>A domain that is an IP literal (IPv6 with or without brackets) is returned as the fallback, without
    /// brackets and without asking the DNS.</item>
    /// </list>
    /// Host names come back lower-cased, in ASCII (IDNs as A-labels), without a trailing dot. The time taken is that
    /// of the slower of the two queries (see <see cref="DnsClient"/>).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is not a valid domain name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<XmppEndpoint>> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(domain);
        string trimmed = domain.EndsWith('.') ? domain[..^1] : domain;
        string literal = trimmed.StartsWith('[') && trimmed.EndsWith(']') ? trimmed[1..^1] : trimmed;
        if (IsIpLiteral(literal))
        {
            return [new XmppEndpoint(literal, DefaultClientPort, DirectTls: false)];
        }

        string host;
        try
        {
            host = DnsQueryWriter.NormalizeName(s_idn.GetAscii(trimmed)).ToLowerInvariant();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"'{domain}' is not a valid domain name: {ex.Message}", nameof(domain), ex);
        }

        Task<IReadOnlyList<SrvRecord>?> directTlsLookup = LookupAsync(DirectTlsService + host, cancellationToken);
        Task<IReadOnlyList<SrvRecord>?> startTlsLookup = LookupAsync(StartTlsService + host, cancellationToken);
        await Task.WhenAll(directTlsLookup, startTlsLookup).ConfigureAwait(false);
        IReadOnlyList<SrvRecord> directTls = await directTlsLookup.ConfigureAwait(false) ?? [];
        IReadOnlyList<SrvRecord> startTls = await startTlsLookup.ConfigureAwait(false) ?? [];

        bool startTlsDecidedlyAbsent = startTls is [{ IsNoService: true }];
        IEnumerable<(SrvRecord Record, bool DirectTls)> merged = SrvOrdering.Order(directTls.Where(r => !r.IsNoService), _random)
            .Select(r => (Record: r, DirectTls: true))
            .Concat(SrvOrdering.Order(startTls.Where(r => !r.IsNoService), _random).Select(r => (Record: r, DirectTls: false)))
            .OrderBy(e => e.Record.Priority)
            .ThenBy(e => e.DirectTls ? 0 : 1);

        var seen = new HashSet<XmppEndpoint>();
        var endpoints = new List<XmppEndpoint>();
        foreach ((SrvRecord record, bool directTlsEndpoint) in merged)
        {
            var endpoint = new XmppEndpoint(record.Target.ToLowerInvariant(), record.Port, directTlsEndpoint);
            if (seen.Add(endpoint))
            {
                endpoints.Add(endpoint);
            }
        }

        if (endpoints.Count == 0 && !startTlsDecidedlyAbsent)
        {
            endpoints.Add(new XmppEndpoint(host, DefaultClientPort, DirectTls: false));
        }

        return endpoints;
    }

    /// <summary>IPv6, or IPv4 in dotted-quad form (not the short forms like "1" that <see cref="IPAddress"/> also takes).</summary>
    private static bool IsIpLiteral(string text) =>
        (text.Contains(':', StringComparison.Ordinal) || text.Count(c => c == '.') == 3) && IPAddress.TryParse(text, out _);

    /// <summary>The SRV records of <paramref name="name"/>, or <see langword="null"/> when they could not be learnt.</summary>
    private async Task<IReadOnlyList<SrvRecord>?> LookupAsync(string name, CancellationToken cancellationToken)
    {
        // A domain near the length limit cannot carry the service prefix, so it has no SRV records either.
        if (!DnsQueryWriter.TryNormalizeName(name, out string? queryName, out _))
        {
            return null;
        }

        try
        {
            return await _dnsClient.QuerySrvAsync(queryName, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppConnectionException)
        {
            return null;
        }
    }
}
