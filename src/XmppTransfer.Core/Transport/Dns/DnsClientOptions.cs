using System.Globalization;
using System.Net;

namespace XmppTransfer.Core.Transport.Dns;

/// <summary>Where and how patiently <see cref="DnsClient"/> asks. Values are validated when set.</summary>
internal sealed record DnsClientOptions
{
    /// <summary>The DNS port used when a server is given without one.</summary>
    public const int DefaultPort = 53;

    /// <summary>Like glibc (<c>MAXNS</c>), only the first three <c>nameserver</c> lines of resolv.conf count.</summary>
    public const int MaxResolvConfServers = 3;

    /// <summary>Upper bound of <see cref="Timeout"/>, as glibc caps <c>timeout:</c> (<c>RES_MAXRETRANS</c>).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of <see cref="Attempts"/>, as glibc caps <c>attempts:</c> (<c>RES_MAXRETRY</c>).</summary>
    public const int MaxAttempts = 5;

    /// <summary>127.0.0.1:53, 2 s per attempt, 2 attempts.</summary>
    public static DnsClientOptions Default { get; } = new();

    /// <summary>Servers asked in order; each attempt walks the whole list. Default: 127.0.0.1:53.</summary>
    public IReadOnlyList<IPEndPoint> Servers
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0)
            {
                throw new ArgumentException("At least one DNS server is required.", nameof(value));
            }

            foreach (IPEndPoint server in value)
            {
                ArgumentNullException.ThrowIfNull(server, nameof(value));
            }

            field = [.. value];
        }
    } = [new IPEndPoint(IPAddress.Loopback, DefaultPort)];

    /// <summary>
    /// How long one exchange with one server (over UDP, or the TCP retry after a truncated answer) may take.
    /// Default 2 s; must be positive and at most <see cref="MaxTimeout"/>.
    /// </summary>
    public TimeSpan Timeout
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxTimeout);
            field = value;
        }
    } = TimeSpan.FromSeconds(2);

    /// <summary>How many times every server is tried. Default 2; between 1 and <see cref="MaxAttempts"/>.</summary>
    public int Attempts
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxAttempts);
            field = value;
        }
    } = 2;

    /// <summary>
    /// Reads the system resolver configuration: up to three <c>nameserver</c> lines (IPv4 or IPv6, port 53) and
    /// <c>options timeout:N attempts:N</c> (clamped to 1..30 s and 1..5, the last value wins). Other lines and
    /// unparsable addresses are ignored; without a usable nameserver (or without the file) 127.0.0.1:53 is used.
    /// </summary>
    /// <exception cref="IOException">The file exists but cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    public static DnsClientOptions FromResolvConf(string path = "/etc/resolv.conf")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Default;
        }

        var servers = new List<IPEndPoint>(MaxResolvConfServers);
        DnsClientOptions options = Default;
        foreach (string line in lines)
        {
            string[] tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length < 2 || tokens[0].StartsWith('#') || tokens[0].StartsWith(';'))
            {
                continue;
            }

            if (tokens[0] == "nameserver")
            {
                if (servers.Count < MaxResolvConfServers && IPAddress.TryParse(tokens[1], out IPAddress? address))
                {
                    servers.Add(new IPEndPoint(address, DefaultPort));
                }
            }
            else if (tokens[0] == "options")
            {
                foreach (string option in tokens.AsSpan(1))
                {
                    if (TryReadOptionValue(option, "timeout:", out int seconds))
                    {
                        options = options with { Timeout = TimeSpan.FromSeconds(Math.Clamp(seconds, 1, (int)MaxTimeout.TotalSeconds)) };
                    }
                    else if (TryReadOptionValue(option, "attempts:", out int attempts))
                    {
                        options = options with { Attempts = Math.Clamp(attempts, 1, MaxAttempts) };
                    }
                }
            }
        }

        return servers.Count == 0 ? options : options with { Servers = servers };
    }

    private static bool TryReadOptionValue(string option, string prefix, out int value)
    {
        value = 0;
        return option.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(option.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
