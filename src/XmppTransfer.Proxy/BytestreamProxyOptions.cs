using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace XmppTransfer.Proxy;

/// <summary>Settings of the XMPP face of the proxy (<see cref="BytestreamProxyExtension"/>).</summary>
public sealed record BytestreamProxyOptions
{
    /// <summary>The defaults: local users only, 16 active streams per user.</summary>
    public static BytestreamProxyOptions Default { get; } = new();

    /// <summary>The disco#info identity name. Default "SOCKS5 Bytestreams Service".</summary>
    public string Name { get; init; } = "SOCKS5 Bytestreams Service";

    /// <summary>
    /// The JID put in <c>&lt;streamhost jid/&gt;</c>. Default null: the address the query was sent to, or else the
    /// session's own address.
    /// </summary>
    public string? Jid { get; init; }

    /// <summary>
    /// Advertised addresses, in order. Default empty: the proxy's bound endpoints, except wildcard ones
    /// (0.0.0.0 and ::, which no client can reach); with none left, address queries get <c>not-allowed</c>.
    /// </summary>
    public IReadOnlyList<ProxyStreamHost> StreamHosts { get; init; } = [];

    /// <summary>
    /// Domains whose users may use the proxy. Default null: the session's domain and its parent domain (for a
    /// component <c>proxy.example.org</c>, users of <c>example.org</c>). An empty list means no local domain.
    /// </summary>
    public IReadOnlyList<string>? LocalDomains { get; init; }

    /// <summary>More domains whose users may use the proxy (exact match). Default none.</summary>
    public IReadOnlyList<string> AllowedDomains { get; init; } = [];

    /// <summary>Users (bare JIDs) who may use the proxy whatever their domain. Default none.</summary>
    public IReadOnlyList<string> AllowedJids { get; init; } = [];

    /// <summary>Lets anyone use the proxy (an open relay: only for closed networks). Default false.</summary>
    public bool AllowAnyone { get; init; }

    /// <summary>
    /// Active (relaying) streams one user (bare JID, as requester) may have at once; activation beyond it gets
    /// <c>resource-constraint</c> (wait). Default 16.
    /// </summary>
    public int MaxActiveStreamsPerJid { get; init; } = 16;

    /// <summary>Logging. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range or a JID or domain is invalid.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Name, nameof(Name));
        if (Jid is not null && !Core.Jid.TryParse(Jid, out _))
        {
            throw new ArgumentException($"'{Jid}' is not a valid JID.", nameof(Jid));
        }

        ArgumentNullException.ThrowIfNull(StreamHosts, nameof(StreamHosts));
        foreach (ProxyStreamHost host in StreamHosts)
        {
            if (host is null || string.IsNullOrWhiteSpace(host.Host) || host.Port is <= 0 or > 65535)
            {
                throw new ArgumentException("Every stream host needs a host and, if given, a port in 1..65535.", nameof(StreamHosts));
            }
        }

        foreach (string domain in (LocalDomains ?? []).Concat(AllowedDomains ?? throw new ArgumentNullException(nameof(AllowedDomains))))
        {
            if (!Core.Jid.TryParse(domain, out Core.Jid? jid) || jid.Local is not null || jid.Resource is not null)
            {
                throw new ArgumentException($"'{domain}' is not a valid domain.", nameof(AllowedDomains));
            }
        }

        foreach (string user in AllowedJids ?? throw new ArgumentNullException(nameof(AllowedJids)))
        {
            if (!Core.Jid.TryParse(user, out _))
            {
                throw new ArgumentException($"'{user}' is not a valid JID.", nameof(AllowedJids));
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxActiveStreamsPerJid, nameof(MaxActiveStreamsPerJid));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }
}
