using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// SOCKS5 Bytestreams (XEP-0065) settings, for both roles. Timeouts are validated at construction of the
/// manager; their defaults follow PROTOCOLS.md §4.5.
/// </summary>
public sealed record Socks5BytestreamOptions
{
    public static Socks5BytestreamOptions Default { get; } = new();

    /// <summary>Offer ourselves as a streamhost (direct candidates). <c>--no-direct</c> turns it off. Default true.</summary>
    public bool DirectCandidates { get; init; } = true;

    /// <summary>
    /// The hosts (IP literals or DNS names) we offer as direct candidates, in this order. Empty = every usable address of
    /// the interfaces that are up (no link-local, IPv6 only when the machine has it). When every entry is an IP literal, the
    /// listener binds to exactly those addresses; otherwise it binds to all addresses. <c>--s5b-host</c>.
    /// </summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>An external (NAT) address offered after the local ones; the listener then binds to all addresses. Default none.</summary>
    public string? ExternalHost { get; init; }

    /// <summary>First port the direct listener may use; 0 with <see cref="MaxPort"/> 0 = an ephemeral port. <c>--s5b-port</c>.</summary>
    public int MinPort { get; init; }

    /// <summary>Last port of the range (equal to <see cref="MinPort"/> for a fixed port).</summary>
    public int MaxPort { get; init; }

    /// <summary>Proxies (streamhost JIDs) to offer; when not empty they replace discovery. <c>--proxy</c>.</summary>
    public IReadOnlyList<Jid> Proxies { get; init; } = [];

    /// <summary>Look for a proxy on our server (disco#items, disco#info, address query) when none is configured. Default true.</summary>
    public bool DiscoverProxies { get; init; } = true;

    /// <summary>Most disco#items entries asked for disco#info during discovery. Default 20.</summary>
    public int MaxDiscoveryItems { get; init; } = 20;

    /// <summary>
    /// Only loopback candidates are ever offered or dialed (IP literals in 127.0.0.0/8 or ::1); everything else is skipped.
    /// Tests, demos and benchmarks set it; the CLI sets it when every <c>--s5b-host</c> is a loopback address. Default false.
    /// </summary>
    public bool LoopbackOnly { get; init; }

    /// <summary>Target: TCP connect plus SOCKS5 handshake to the requester itself. Default 3 s.</summary>
    public TimeSpan DirectConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>TCP connect plus SOCKS5 handshake to a proxy (both roles). Default 5 s.</summary>
    public TimeSpan ProxyConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Target: delay before the next candidate is tried while earlier ones are still connecting. Default 200 ms.</summary>
    public TimeSpan Stagger { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Requester: wait for the target's <c>streamhost-used</c>. Target: wait for the offer after agreeing to a stream,
    /// and the bound of the whole candidate race. Default 30 s.
    /// </summary>
    public TimeSpan NegotiationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requester: wait for the proxy's answer to <c>activate</c>. Default 10 s.</summary>
    public TimeSpan ActivationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Each discovery request (disco#items, disco#info, address query). Default 10 s.</summary>
    public TimeSpan DiscoveryTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Our listener: SOCKS5 handshake of an incoming connection. Default 10 s.</summary>
    public TimeSpan ListenerHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Our listener: most incoming connections at once that have not finished the SOCKS5 handshake (each for at most
    /// <see cref="ListenerHandshakeTimeout"/>); one over it is closed at once, unread. A real target opens one connection per
    /// address of ours it tries. Default 32.
    /// </summary>
    public int MaxDirectConnections { get; init; } = 32;

    /// <summary>
    /// Our listener: as <see cref="MaxDirectConnections"/>, from one remote address (IPv6: one /64), so that one peer cannot
    /// hold all the places while the real target connects. Default 8.
    /// </summary>
    public int MaxDirectConnectionsPerAddress { get; init; } = 8;

    /// <summary>
    /// Sending a file to a peer on this machine (a direct connection to a loopback address): copy it into the socket from
    /// a memory mapping of the file instead of sending it with sendfile(2). Both cost one copy in all, but sendfile leaves
    /// it to the receiver, which then reads cold file pages while it also fills its own page cache; copying here moves that
    /// work onto the sender's core and hands the receiver data still in the CPU cache. On the 2-core bench machine that made
    /// 64 MiB transfers about a tenth faster, but 1 GiB transfers less predictable (medians from 0.49x to 0.76x of raw TCP,
    /// against 0.68x to 0.76x with sendfile, docs/benchmarks.md), and it spends a core's worth of copying that sendfile does
    /// not. Hence off by default. To other machines, and through a proxy (whose receiver may be anywhere), sendfile is
    /// always used. Linux on x64 and Arm64 only; elsewhere, or for a file that cannot be mapped, sendfile is used.
    /// Default false.
    /// </summary>
    public bool MappedSendOnLoopback { get; init; }

    /// <summary>Kernel send and receive buffer size set on bytestream sockets; 0 keeps the system's autotuning. Default 0.</summary>
    public int SocketBufferSize { get; init; }

    internal bool HasPortRange => MinPort != 0 || MaxPort != 0;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Hosts, nameof(Hosts));
        ArgumentNullException.ThrowIfNull(Proxies, nameof(Proxies));
        if (MinPort is < 0 or > 65535 || MaxPort is < 0 or > 65535 || MaxPort < MinPort || (HasPortRange && MinPort == 0))
        {
            throw new ArgumentOutOfRangeException(nameof(MinPort), "The port range must satisfy 1 <= MinPort <= MaxPort <= 65535 (or both 0).");
        }

        if (MaxDiscoveryItems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDiscoveryItems), "At least one item must be asked.");
        }

        if (MaxDirectConnections < 1 || MaxDirectConnectionsPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(
                MaxDirectConnections < 1 ? nameof(MaxDirectConnections) : nameof(MaxDirectConnectionsPerAddress), "The listener must admit at least one connection.");
        }

        if (SocketBufferSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SocketBufferSize), "The socket buffer size cannot be negative.");
        }

        foreach (var (name, value) in new[]
        {
            (nameof(DirectConnectTimeout), DirectConnectTimeout), (nameof(ProxyConnectTimeout), ProxyConnectTimeout),
            (nameof(NegotiationTimeout), NegotiationTimeout), (nameof(ActivationTimeout), ActivationTimeout),
            (nameof(DiscoveryTimeout), DiscoveryTimeout), (nameof(ListenerHandshakeTimeout), ListenerHandshakeTimeout),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, "SOCKS5 timeouts must be positive.");
            }
        }

        if (Stagger < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Stagger), Stagger, "The stagger cannot be negative.");
        }
    }
}
