using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace XmppTransfer.Proxy;

/// <summary>Settings of a <see cref="Socks5Proxy"/>. Every timeout and limit has a documented default.</summary>
public sealed record Socks5ProxyOptions
{
    /// <summary>The defaults: listen on 0.0.0.0:7777 and [::]:7777.</summary>
    public static Socks5ProxyOptions Default { get; } = new();

    /// <summary>
    /// Where to accept SOCKS5 connections. Default 0.0.0.0:7777 and [::]:7777 (the IPv6 socket is
    /// IPv6-only; it is skipped with a warning when the host has no IPv6). Port 0 picks an ephemeral port.
    /// </summary>
    public IReadOnlyList<IPEndPoint> ListenEndpoints { get; init; } =
        [new IPEndPoint(IPAddress.Any, 7777), new IPEndPoint(IPAddress.IPv6Any, 7777)];

    /// <summary>Listen backlog per socket. Default 512.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>Open connections in total (handshaking, waiting and relaying). Beyond it new connections are closed at once. Default 10,000.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>Open connections per remote IP address. Beyond it new connections are closed at once. Default 64.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    /// <summary>Greeting plus CONNECT must arrive within this time (defeats slowloris). Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A first leg waits this long for its partner. Default 30 s.</summary>
    public TimeSpan UnpairedTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A pair waits this long for activation. Default 30 s (XEP-0065 §11).</summary>
    public TimeSpan UnactivatedTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An active stream with no bytes in either direction for this long is closed. Default 5 min.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long <see cref="Socks5Proxy.StopAsync"/> lets active relays finish. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Bytes relayed per stream, both directions together; the stream is closed at the cap. Default null (unlimited).</summary>
    public long? MaxBytesPerStream { get; init; }

    /// <summary>Rate of each stream in bytes per second, both directions together (token bucket). Default null (unlimited).</summary>
    public long? BytesPerSecondPerStream { get; init; }

    /// <summary>Rate of all streams together in bytes per second (token bucket). Default null (unlimited).</summary>
    public long? BytesPerSecondTotal { get; init; }

    /// <summary>
    /// Largest read of a relay direction. Buffers are rented from the shared pool for one read and its write, sized
    /// by the bytes waiting in the socket (at least 4 KiB, at most this), so an idle stream holds none; a stream
    /// whose writes are blocked holds at most one per direction. Default 256 KiB, chosen by measurement: 1 GiB
    /// through the proxy on loopback, medians of 7 runs on a loaded 2-core machine, gave 1,282–1,319 MiB/s at
    /// 64/128 KiB, 1,427–1,791 MiB/s at 256 KiB and 1,324 MiB/s at 512 KiB.
    /// </summary>
    public int RelayBufferSize { get; init; } = 256 * 1024;

    /// <summary>
    /// SO_SNDBUF and SO_RCVBUF of relayed sockets. Default null: the OS default with Linux auto-tuning,
    /// which setting a value would switch off.
    /// </summary>
    public int? SocketBufferSize { get; init; }

    /// <summary>Logging. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Clock for every deadline (handshake and its reply, unpaired, unactivated, idle, drain), for idle detection, for
    /// shaping and for the pause after a failed accept: the proxy uses no other clock. Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (ListenEndpoints is null || ListenEndpoints.Count == 0)
        {
            throw new ArgumentException("At least one listen endpoint is required.", nameof(ListenEndpoints));
        }

        RequirePositive(ListenBacklog, nameof(ListenBacklog));
        RequirePositive(MaxConnections, nameof(MaxConnections));
        RequirePositive(MaxConnectionsPerAddress, nameof(MaxConnectionsPerAddress));
        RequirePositive(HandshakeTimeout, nameof(HandshakeTimeout));
        RequirePositive(UnpairedTimeout, nameof(UnpairedTimeout));
        RequirePositive(UnactivatedTimeout, nameof(UnactivatedTimeout));
        RequirePositive(IdleTimeout, nameof(IdleTimeout));
        if (DrainTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DrainTimeout), DrainTimeout, "Must not be negative.");
        }

        if (MaxBytesPerStream is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBytesPerStream), MaxBytesPerStream, "Must be positive or null.");
        }

        if (BytesPerSecondPerStream is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BytesPerSecondPerStream), BytesPerSecondPerStream, "Must be positive or null.");
        }

        if (BytesPerSecondTotal is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BytesPerSecondTotal), BytesPerSecondTotal, "Must be positive or null.");
        }

        if (RelayBufferSize is < 4096 or > 16 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(RelayBufferSize), RelayBufferSize, "Must be between 4 KiB and 16 MiB.");
        }

        if (SocketBufferSize is < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(SocketBufferSize), SocketBufferSize, "Must be at least 4 KiB or null.");
        }

        ArgumentNullException.ThrowIfNull(LoggerFactory);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    private static void RequirePositive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
