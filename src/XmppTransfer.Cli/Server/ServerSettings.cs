using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Server;

/// <summary>
/// The one place where configuration (server.json in the data folder or --config, XFT_* environment variables,
/// --set KEY=VALUE) becomes <see cref="ServerOptions"/>. Our own keys live under <c>Server:</c>; Openfire's property
/// names are honoured as aliases (ours win when both are set): <c>xmpp.domain</c>, <c>xmpp.filetransfer.enabled</c>,
/// <c>xmpp.proxy.enabled</c>, <c>xmpp.proxy.service</c>, <c>xmpp.proxy.port</c>, <c>xmpp.proxy.externalip</c>,
/// <c>xmpp.socket.plain.port</c>, <c>xmpp.component.socket.port</c>.
/// </summary>
internal static class ServerSettings
{
    public const int DefaultComponentPort = 5347;

    /// <summary>The default data folder: $XDG_DATA_HOME/xft/server or ~/.local/share/xft/server.</summary>
    public static string DefaultDataDirectory =>
        Path.Combine(
            Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"),
            "xft",
            "server");

    /// <summary>
    /// Every key <see cref="Map"/> and <see cref="MetricsEndpoint"/> read (a key read there must be listed here, or it is
    /// refused as unknown), Openfire's aliases, the component secrets and the standard <c>Logging</c> section.
    /// </summary>
    public static SettingKeys Keys { get; } = new(
        [
            "Server:Domain", "Server:Listen", "Server:DirectTlsListen", "Server:ComponentListen",
            "Server:Certificate", "Server:CertificateKey", "Server:CertificatePassword", "Server:RequireTls", "Server:AllowPlain",
            "Server:FileTransfer", "Server:MaxStanzaBytes", "Server:MaxConnectionsPerAddress", "Server:MaxOutgoingQueueBytes", "Server:Metrics",
            "Server:Proxy:Enabled", "Server:Proxy:Service", "Server:Proxy:Listen", "Server:Proxy:Port", "Server:Proxy:ExternalIp",
            "Server:Proxy:MaxStreamsPerJid", "Server:Proxy:DrainTimeout",
            "xmpp.domain", "xmpp.socket.plain.port", "xmpp.component.socket.port", "xmpp.filetransfer.enabled", "xmpp.proxy.enabled",
            "xmpp.proxy.service", "xmpp.proxy.port", "xmpp.proxy.externalip",
        ],
        lists: [],
        sections: ["Server:Components", "Logging"]);

    public static ServerOptions Map(IConfiguration configuration, string dataDirectory, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory)
    {
        var defaults = ServerOptions.Default;
        var domain = Get(configuration, "Server:Domain", "xmpp.domain") ?? defaults.Domain;
        var listen = Endpoint(Get(configuration, "Server:Listen", null), defaults.ClientEndpoint);
        if (Get(configuration, null, "xmpp.socket.plain.port") is { } plainPort)
        {
            listen = new IPEndPoint(listen.Address, Port(plainPort, "xmpp.socket.plain.port"));
        }

        var secrets = configuration.GetSection("Server:Components").GetChildren()
            .Where(c => !string.IsNullOrEmpty(c.Value))
            .ToDictionary(c => c.Key, c => c.Value!, StringComparer.OrdinalIgnoreCase);
        IPEndPoint? componentEndpoint = null;
        if (secrets.Count > 0)
        {
            componentEndpoint = Endpoint(Get(configuration, "Server:ComponentListen", null), new IPEndPoint(IPAddress.Loopback, DefaultComponentPort));
            if (Get(configuration, null, "xmpp.component.socket.port") is { } componentPort)
            {
                componentEndpoint = new IPEndPoint(componentEndpoint.Address, Port(componentPort, "xmpp.component.socket.port"));
            }
        }

        var proxyAddress = Get(configuration, "Server:Proxy:Listen", null) is { } proxyListen
            ? Endpoint(proxyListen, defaults.ProxyEndpoint).Address
            : listen.Address;
        var proxyPort = Get(configuration, "Server:Proxy:Port", "xmpp.proxy.port") is { } port ? Port(port, "xmpp.proxy.port") : defaults.ProxyEndpoint.Port;
        var directTls = Get(configuration, "Server:DirectTlsListen", null);
        return defaults with
        {
            Domain = domain,
            DataDirectory = dataDirectory,
            ClientEndpoint = listen,
            DirectTlsEndpoint = directTls is null ? null : Endpoint(directTls, new IPEndPoint(IPAddress.Loopback, 5223)),
            ComponentEndpoint = componentEndpoint,
            ComponentSecrets = secrets,
            CertificatePath = Get(configuration, "Server:Certificate", null),
            CertificateKeyPath = Get(configuration, "Server:CertificateKey", null),
            CertificatePassword = Get(configuration, "Server:CertificatePassword", null),
            RequireTls = Bool(configuration, "Server:RequireTls", null, defaults.RequireTls),
            AllowPlain = Bool(configuration, "Server:AllowPlain", null, defaults.AllowPlain),
            FileTransferEnabled = Bool(configuration, "Server:FileTransfer", "xmpp.filetransfer.enabled", defaults.FileTransferEnabled),
            ProxyEnabled = Bool(configuration, "Server:Proxy:Enabled", "xmpp.proxy.enabled", defaults.ProxyEnabled),
            ProxyService = Get(configuration, "Server:Proxy:Service", "xmpp.proxy.service") ?? defaults.ProxyService,
            ProxyEndpoint = new IPEndPoint(proxyAddress, proxyPort),
            ProxyExternalHost = Get(configuration, "Server:Proxy:ExternalIp", "xmpp.proxy.externalip"),
            ProxyMaxActiveStreamsPerJid = PositiveInt(configuration, "Server:Proxy:MaxStreamsPerJid", defaults.ProxyMaxActiveStreamsPerJid),
            ProxyDrainTimeout = Time(configuration, "Server:Proxy:DrainTimeout") ?? defaults.ProxyDrainTimeout,
            MaxStanzaBytes = Int(configuration, "Server:MaxStanzaBytes", defaults.MaxStanzaBytes),
            MaxConnectionsPerAddress = Int(configuration, "Server:MaxConnectionsPerAddress", defaults.MaxConnectionsPerAddress),
            MaxOutgoingQueueBytes = Int(configuration, "Server:MaxOutgoingQueueBytes", defaults.MaxOutgoingQueueBytes),
            LoggerFactory = loggerFactory,
        };
    }

    /// <summary>The /metrics listener, or null when not configured (<c>Server:Metrics</c>, e.g. <c>127.0.0.1:9190</c>).</summary>
    public static IPEndPoint? MetricsEndpoint(IConfiguration configuration) =>
        Get(configuration, "Server:Metrics", null) is { } value ? Endpoint(value, new IPEndPoint(IPAddress.Loopback, 9190)) : null;

    private static string? Get(IConfiguration configuration, string? ours, string? openfire)
    {
        var value = ours is null ? null : configuration[ours];
        if (string.IsNullOrWhiteSpace(value) && openfire is not null)
        {
            value = configuration[openfire];
        }

        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static bool Bool(IConfiguration configuration, string ours, string? openfire, bool fallback)
    {
        var value = Get(configuration, ours, openfire);
        return value is null ? fallback : bool.TryParse(value, out var parsed)
            ? parsed
            : throw new UsageException($"'{value}' is not true or false (setting {ours}{(openfire is null ? string.Empty : " / " + openfire)}).");
    }

    private static int Int(IConfiguration configuration, string key, int fallback)
    {
        var value = Get(configuration, key, null);
        return value is null ? fallback : int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new UsageException($"'{value}' is not a number (setting {key}).");
    }

    /// <summary>A count that must be at least 1: a usage error (exit 2) naming the setting, not a failed start.</summary>
    private static int PositiveInt(IConfiguration configuration, string key, int fallback)
    {
        var value = Int(configuration, key, fallback);
        return value > 0 ? value : throw new UsageException($"'{value}' is not a positive number (setting {key}).");
    }

    /// <summary>
    /// A duration in seconds (<c>30</c>, <c>2.5</c>) or <c>hh:mm:ss</c>, as <c>xft proxy</c> reads its timeouts; a negative
    /// one is refused when the options are validated.
    /// </summary>
    private static TimeSpan? Time(IConfiguration configuration, string key)
    {
        if (Get(configuration, key, null) is not { } text)
        {
            return null;
        }

        return SettingDuration.TryParse(text, out var value)
            ? value
            : throw new UsageException($"'{text}' is not seconds or hh:mm:ss (setting {key}).");
    }

    private static int Port(string value, string key) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new UsageException($"'{value}' is not a port (setting {key}).");

    /// <summary>Parses <c>ADDRESS:PORT</c>, <c>[v6]:PORT</c>, <c>ADDRESS</c> or <c>PORT</c>.</summary>
    public static IPEndPoint Endpoint(string? value, IPEndPoint fallback)
    {
        if (value is null)
        {
            return fallback;
        }

        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return new IPEndPoint(fallback.Address, Port(value, "port"));
        }

        if (IPAddress.TryParse(value, out var onlyAddress))
        {
            return new IPEndPoint(onlyAddress, fallback.Port);
        }

        return IPEndPoint.TryParse(value, out var endPoint)
            ? endPoint
            : throw new UsageException($"'{value}' is not ADDRESS:PORT.");
    }
}
