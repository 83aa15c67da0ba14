using System.Net;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>Out-of-Band Data (XEP-0066) settings: where we serve files, and how we download them.</summary>
public sealed record OobOptions
{
    public static OobOptions Default { get; } = new();

    /// <summary>Address the HTTP server listens on. Default 127.0.0.1 (set the LAN address to be reachable).</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Port to listen on; 0 picks a free one. Default 0.</summary>
    public int Port { get; init; }

    /// <summary>Host name or address put in the URL (e.g. the NAT's public address); default: the listen address.</summary>
    public string? PublicHost { get; init; }

    /// <summary>
    /// How long we serve a file while waiting for the receiver's answer. Default 30 min. It also bounds a download still
    /// served after our XMPP session ended (see <see cref="InactivityTimeout"/>).
    /// </summary>
    public TimeSpan ServeDeadline { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Sending: how long a connection to our HTTP server may take to send a request's headers, and may stay idle before its
    /// first request or between requests; it is then closed. Default 10 s.
    /// </summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receiving: refuse downloads larger than this. Default null (free disk space still limits).</summary>
    public long? MaxDownloadBytes { get; init; }

    /// <summary>Receiving: connect timeout per request. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Receiving: longest silence while downloading before giving up. Sending: a download that serves no byte for this
    /// long (its client reads nothing) is cut; this also ends a download still served after our XMPP session ended.
    /// Default 60 s.
    /// </summary>
    public TimeSpan InactivityTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Receiving: allow URLs that resolve to addresses other than public unicast ones: loopback, unspecified, private,
    /// shared (CGNAT), link-local, unique-local, multicast, broadcast, reserved, benchmarking, documentation or discard
    /// (also when an IPv6 address embeds such an IPv4 address: IPv4-mapped or -compatible, NAT64, 6to4, Teredo, ISATAP).
    /// Off by default (a stranger's URL must not make us probe our own network); LAN setups turn it on.
    /// </summary>
    public bool AllowPrivateNetworks { get; init; }
}
