using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Proxy;

namespace XmppTransfer.Cli.Proxy;

/// <summary>
/// The one place where <c>xft proxy</c> reads configuration: the appsettings file (<c>--config</c>), then the
/// environment (prefix <c>XFT_</c>, e.g. <c>XFT_Proxy__MaxConnections</c>), then the arguments, later layers winning.
/// Every key lives under <c>Proxy:</c>, except the standard <c>Logging:</c> section (e.g. <c>XFT_Logging__LogLevel__Default</c>),
/// which the host's console logging reads; lists are JSON arrays or comma-separated strings. The component secret comes
/// from <c>XFT_COMPONENT_SECRET</c> or the file named by <c>--secret-file</c> / <c>Proxy:SecretFile</c>, never argv.
/// </summary>
internal static class ProxyConfiguration
{
    public const string SecretVariable = "XFT_COMPONENT_SECRET";

    private static readonly string[] s_listNames = ["Listen", "PublicHost", "AllowDomains", "AllowJids", "LocalDomains"];

    private static readonly string[] s_names =
    [
        "ComponentJid", "Server", "SecretFile", "Listen", "PublicHost", "AllowDomains", "AllowJids", "AllowAnyone", "LocalDomains",
        "MaxConnections", "MaxPerAddress", "MaxStreamsPerJid", "Rate", "TotalRate", "MaxBytesPerStream", "RelayBufferSize",
        "HandshakeTimeout", "UnpairedTimeout", "UnactivatedTimeout", "IdleTimeout", "DrainTimeout", "ReconnectMinDelay",
        "ReconnectMaxDelay", "Metrics", "Json",
    ];

    /// <summary>
    /// Builds the layered configuration and maps it. <paramref name="environment"/> is the whole environment the settings,
    /// the check for unknown keys and the secret are read from (default: the process's, <see cref="XftEnvironment.Current"/>).
    /// </summary>
    /// <exception cref="UsageException">A value is missing or invalid (exit code 2).</exception>
    public static ProxySettings Load(ProxyArguments arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        environment ??= XftEnvironment.Current();
        ConfigurationBuilder builder = new();
        if (arguments.ConfigFile is not null)
        {
            if (!File.Exists(arguments.ConfigFile))
            {
                throw new UsageException($"The configuration file {arguments.ConfigFile} does not exist.");
            }

            builder.AddConfiguration(ReadFile(arguments.ConfigFile));
        }

        builder.AddXftVariables(environment);
        XftEnvironment.CheckSection("Proxy", Keys, environment);
        builder.AddInMemoryCollection(ToKeys(arguments));
        IConfiguration configuration = builder.Build();
        return Map(configuration.GetSection("Proxy"), environment.GetValueOrDefault) with { Logging = configuration.GetSection("Logging") };
    }

    /// <summary>
    /// Every key <see cref="Map"/> reads, under <c>Proxy:</c> (a key read there must be listed here, or it is refused as
    /// unknown), and the standard <c>Logging</c> section beside it.
    /// </summary>
    public static SettingKeys Keys { get; } = new(
        [.. s_names.Select(n => "Proxy:" + n)],
        lists: [.. s_listNames.Select(n => "Proxy:" + n)],
        sections: ["Logging"]);

    /// <summary>Reads the <c>--config</c> file, refusing JSON that does not parse and keys nobody reads.</summary>
    /// <exception cref="UsageException">The file cannot be read or has an unknown key (exit code 2).</exception>
    private static IConfiguration ReadFile(string file)
    {
        IConfiguration configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException)
        {
            throw new UsageException($"Cannot read the configuration: {ex.Message}");
        }

        Keys.Check(configuration, "in " + file);
        return configuration;
    }

    /// <summary>Maps the <c>Proxy</c> section to options; validation errors become <see cref="UsageException"/>.</summary>
    public static ProxySettings Map(IConfigurationSection section, Func<string, string?> environment)
    {
        string jidText = section["ComponentJid"] ?? throw new UsageException("No component JID: give --component-jid (e.g. proxy.example.org).");
        if (!Jid.TryParse(jidText, out Jid? jid) || jid.Local is not null || jid.Resource is not null)
        {
            throw new UsageException($"'{jidText}' is not a component address (a domain such as proxy.example.org).");
        }

        (string host, int port) = ParseHostPort(section["Server"] ?? "127.0.0.1:5347", "--server");
        string secret = ReadSecret(section["SecretFile"], environment);

        Socks5ProxyOptions socks = Socks5ProxyOptions.Default;
        IReadOnlyList<string> listen = List(section, "Listen");
        if (listen.Count > 0)
        {
            socks = socks with { ListenEndpoints = [.. listen.Select(ParseEndPoint)] };
        }

        socks = socks with
        {
            MaxConnections = Int(section, "MaxConnections") ?? socks.MaxConnections,
            MaxConnectionsPerAddress = Int(section, "MaxPerAddress") ?? socks.MaxConnectionsPerAddress,
            BytesPerSecondPerStream = Bytes(section, "Rate"),
            BytesPerSecondTotal = Bytes(section, "TotalRate"),
            MaxBytesPerStream = Bytes(section, "MaxBytesPerStream"),
            HandshakeTimeout = Time(section, "HandshakeTimeout") ?? socks.HandshakeTimeout,
            UnpairedTimeout = Time(section, "UnpairedTimeout") ?? socks.UnpairedTimeout,
            UnactivatedTimeout = Time(section, "UnactivatedTimeout") ?? socks.UnactivatedTimeout,
            IdleTimeout = Time(section, "IdleTimeout") ?? socks.IdleTimeout,
            DrainTimeout = Time(section, "DrainTimeout") ?? socks.DrainTimeout,
            RelayBufferSize = (int)Math.Min(int.MaxValue, Bytes(section, "RelayBufferSize") ?? socks.RelayBufferSize),
        };

        BytestreamProxyOptions service = BytestreamProxyOptions.Default with
        {
            StreamHosts = [.. List(section, "PublicHost").Select(ParseStreamHost)],
            AllowedDomains = List(section, "AllowDomains"),
            AllowedJids = List(section, "AllowJids"),
            AllowAnyone = Bool(section, "AllowAnyone") ?? false,
            MaxActiveStreamsPerJid = Int(section, "MaxStreamsPerJid") ?? BytestreamProxyOptions.Default.MaxActiveStreamsPerJid,
        };
        if (section.GetSection("LocalDomains").Exists())
        {
            service = service with { LocalDomains = List(section, "LocalDomains") };
        }

        if (service.StreamHosts.Count == 0 && socks.ListenEndpoints.All(e => e.Address.Equals(IPAddress.Any) || e.Address.Equals(IPAddress.IPv6Any)))
        {
            throw new UsageException("Clients cannot reach a wildcard address: give --public-host HOST (the proxy's public IP or DNS name).");
        }

        ProxySettings settings = new()
        {
            Component = new XmppComponentOptions { Jid = jid, Secret = secret, Host = host, Port = port },
            Socks5 = socks,
            Service = service,
            MetricsEndpoint = section["Metrics"] is { Length: > 0 } metrics ? ParseEndPoint(metrics) : null,
            ReconnectMinDelay = Time(section, "ReconnectMinDelay") ?? TimeSpan.FromSeconds(1),
            ReconnectMaxDelay = Time(section, "ReconnectMaxDelay") ?? TimeSpan.FromSeconds(30),
            Json = Bool(section, "Json") ?? false,
        };

        try
        {
            settings.Socks5.Validate();
            settings.Service.Validate();
            _ = new ReconnectBackoff(settings.ReconnectMinDelay, settings.ReconnectMaxDelay);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException("Invalid proxy setting: " + ex.Message);
        }

        return settings;
    }

    /// <summary>Parses <c>1048576</c>, <c>512K</c>, <c>10M</c>, <c>1G</c> (binary multiples).</summary>
    public static long ParseBytes(string text)
    {
        string value = text.Trim();
        long multiplier = 1;
        if (value.Length > 0 && char.ToUpperInvariant(value[^1]) is 'K' or 'M' or 'G')
        {
            multiplier = char.ToUpperInvariant(value[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, _ => 1L << 30 };
            value = value[..^1];
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long number) && number > 0 && number <= long.MaxValue / multiplier
            ? number * multiplier
            : throw new UsageException($"'{text}' is not a positive byte count (e.g. 10M).");
    }

    private static Dictionary<string, string?> ToKeys(ProxyArguments a)
    {
        Dictionary<string, string?> keys = [];
        void Set(string key, string? value)
        {
            if (value is not null)
            {
                keys["Proxy:" + key] = value;
            }
        }

        void SetList(string key, IReadOnlyList<string> values)
        {
            if (values.Count > 0)
            {
                // One comma-joined value: it replaces a list from a lower layer instead of merging by index.
                keys["Proxy:" + key] = string.Join(',', values);
            }
        }

        Set("ComponentJid", a.ComponentJid);
        Set("Server", a.Server);
        Set("SecretFile", a.SecretFile);
        SetList("Listen", a.Listen);
        SetList("PublicHost", a.PublicHosts);
        SetList("AllowDomains", a.AllowDomains);
        SetList("AllowJids", a.AllowJids);
        Set("AllowAnyone", a.AllowAnyone ? "true" : null);
        Set("MaxConnections", a.MaxConnections?.ToString(CultureInfo.InvariantCulture));
        Set("MaxPerAddress", a.MaxPerAddress?.ToString(CultureInfo.InvariantCulture));
        Set("MaxStreamsPerJid", a.MaxStreamsPerJid?.ToString(CultureInfo.InvariantCulture));
        Set("Rate", a.Rate);
        Set("TotalRate", a.TotalRate);
        Set("MaxBytesPerStream", a.MaxBytesPerStream);
        Set("RelayBufferSize", a.RelayBufferSize);
        Set("Metrics", a.Metrics);
        Set("Json", a.Json ? "true" : null);
        return keys;
    }

    private static string ReadSecret(string? file, Func<string, string?> environment)
    {
        if (file is not null)
        {
            try
            {
                string secret = File.ReadAllText(file).TrimEnd('\r', '\n');
                return secret.Length > 0 ? secret : throw new UsageException($"The secret file {file} is empty.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"Cannot read the secret file {file}: {ex.Message}");
            }
        }

        return environment(SecretVariable) is { Length: > 0 } value
            ? value
            : throw new UsageException($"No component secret: set {SecretVariable} or give --secret-file FILE (secrets are never taken from the command line).");
    }

    /// <summary>A list: a comma-separated value at the key itself wins (arguments, environment), else the array children.</summary>
    private static IReadOnlyList<string> List(IConfigurationSection section, string key)
    {
        IConfigurationSection list = section.GetSection(key);
        IEnumerable<string?> values = list.Value is not null
            ? list.Value.Split(',')
            : list.GetChildren().Select(c => c.Value);
        return [.. values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim())];
    }

    private static int? Int(IConfigurationSection section, string key) => section[key] is { } text
        ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new UsageException($"Proxy:{key} must be a positive integer, not '{text}'.")
        : null;

    private static long? Bytes(IConfigurationSection section, string key) => section[key] is { Length: > 0 } text ? ParseBytes(text) : null;

    private static bool? Bool(IConfigurationSection section, string key) => section[key] is { } text
        ? bool.TryParse(text, out bool value) ? value : throw new UsageException($"Proxy:{key} must be true or false, not '{text}'.")
        : null;

    /// <summary>Seconds (<c>30</c>, <c>2.5</c>) or a TimeSpan (<c>00:05:00</c>).</summary>
    private static TimeSpan? Time(IConfigurationSection section, string key)
    {
        if (section[key] is not { } text)
        {
            return null;
        }

        return SettingDuration.TryParse(text, out TimeSpan value)
            ? value
            : throw new UsageException($"Proxy:{key} must be seconds or hh:mm:ss, not '{text}'.");
    }

    private static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text.Trim(), out IPEndPoint? endPoint)
        && (text.TrimStart().StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Contains(':', StringComparison.Ordinal))
            ? endPoint
            : throw new UsageException($"'{text}' is not ADDRESS:PORT (e.g. 0.0.0.0:7777 or [::]:7777).");

    private static ProxyStreamHost ParseStreamHost(string text)
    {
        try
        {
            return ProxyStreamHost.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new UsageException("Invalid --public-host: " + ex.Message);
        }
    }

    private static (string Host, int Port) ParseHostPort(string text, string option)
    {
        try
        {
            ProxyStreamHost parsed = ProxyStreamHost.Parse(text);
            return (parsed.Host, parsed.Port ?? throw new FormatException("no port"));
        }
        catch (FormatException)
        {
            throw new UsageException($"{option} must be HOST:PORT (the XMPP server's component port), not '{text}'.");
        }
    }
}
