using System.Net;
using XmppTransfer.Cli.Proxy;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

public sealed class ProxyConfigurationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("xft-proxy-config-").FullName;

    /// <summary>The whole environment of a load: only the secret, nothing of the process's.</summary>
    private static readonly Dictionary<string, string?> s_env = new(StringComparer.Ordinal) { [ProxyConfiguration.SecretVariable] = "env-secret" };

    [Fact]
    public void Arguments_override_the_file_and_a_list_from_arguments_replaces_the_files_list()
    {
        string file = Path.Combine(_folder, "appsettings.json");
        File.WriteAllText(file, """
            { "Proxy": { "ComponentJid": "proxy.file.test", "Server": "10.0.0.1:5347", "MaxConnections": 100,
                         "Listen": [ "127.0.0.1:7001", "127.0.0.1:7002" ], "PublicHost": [ "proxy.file.test" ], "IdleTimeout": "00:01:00" } }
            """);

        ProxySettings settings = ProxyConfiguration.Load(
            new ProxyArguments { ConfigFile = file, ComponentJid = "proxy.args.test", Listen = ["127.0.0.1:7003"], Rate = "10M" }, s_env);

        Assert.Equal("proxy.args.test", settings.Component.Jid.ToString());
        Assert.Equal(("10.0.0.1", 5347), (settings.Component.Host, settings.Component.Port));
        Assert.Equal("env-secret", settings.Component.Secret);
        Assert.Equal(100, settings.Socks5.MaxConnections);
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:7003")], settings.Socks5.ListenEndpoints);
        Assert.Equal(10L * 1024 * 1024, settings.Socks5.BytesPerSecondPerStream);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.Socks5.IdleTimeout);
        Assert.Equal("proxy.file.test", Assert.Single(settings.Service.StreamHosts).Host);
    }

    [Fact]
    public void Settings_come_from_the_environment_given_to_the_load()
    {
        var environment = new Dictionary<string, string?>(s_env) { ["XFT_Proxy__MaxConnections"] = "77", ["XFT_Logging__LogLevel__Default"] = "Warning" };

        ProxySettings settings = ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"] }, environment);

        Assert.Equal(77, settings.Socks5.MaxConnections);
        Assert.Equal("Warning", settings.Logging["LogLevel:Default"]);
    }

    [Fact]
    public void An_unknown_key_in_the_environment_given_to_the_load_is_refused_by_its_variable_name()
    {
        var environment = new Dictionary<string, string?>(s_env) { ["XFT_Proxy__MaxConections"] = "5" };

        UsageException ex = Assert.Throws<UsageException>(
            () => ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"] }, environment));

        Assert.Contains("XFT_Proxy__MaxConections", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_file_is_read_and_its_trailing_newline_dropped()
    {
        string secret = Path.Combine(_folder, "secret");
        File.WriteAllText(secret, "file-secret\n");

        ProxySettings settings = ProxyConfiguration.Load(
            new ProxyArguments { ComponentJid = "proxy.example.test", SecretFile = secret, PublicHosts = ["192.0.2.1"] }, new Dictionary<string, string?>());

        Assert.Equal("file-secret", settings.Component.Secret);
        Assert.DoesNotContain("file-secret", settings.Component.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_secret_jid_or_public_host_is_a_usage_error()
    {
        Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"] }, new Dictionary<string, string?>()));
        Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { PublicHosts = ["h"] }, s_env));
        Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "user@example.test", PublicHosts = ["h"] }, s_env));
        UsageException noHost = Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test" }, s_env));
        Assert.Contains("--public-host", noHost.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => ProxyConfiguration.Load(
            new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"], Listen = ["nonsense"] }, s_env));
    }

    [Fact]
    public void The_per_user_stream_limit_comes_from_max_streams_per_jid_and_must_be_positive()
    {
        ProxySettings defaults = ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"] }, s_env);
        ProxySettings set = ProxyConfiguration.Load(new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"], MaxStreamsPerJid = 40 }, s_env);
        UsageException zero = Assert.Throws<UsageException>(() => ProxyConfiguration.Load(
            new ProxyArguments { ComponentJid = "proxy.example.test", PublicHosts = ["h"], MaxStreamsPerJid = 0 }, s_env));

        Assert.Equal(16, defaults.Service.MaxActiveStreamsPerJid);
        Assert.Equal(40, set.Service.MaxActiveStreamsPerJid);
        Assert.Contains("MaxStreamsPerJid", zero.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Byte_counts_take_binary_suffixes()
    {
        Assert.Equal(512L * 1024, ProxyConfiguration.ParseBytes("512K"));
        Assert.Equal(1L << 30, ProxyConfiguration.ParseBytes("1g"));
        Assert.Equal(1000, ProxyConfiguration.ParseBytes("1000"));
        Assert.Throws<UsageException>(() => ProxyConfiguration.ParseBytes("-1"));
    }

    [Fact]
    public void Reconnect_backoff_doubles_up_to_its_cap_and_resets()
    {
        ReconnectBackoff backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        TimeSpan[] delays = [backoff.Next(), backoff.Next(), backoff.Next(), backoff.Next(), backoff.Next()];
        backoff.Reset();

        Assert.Equal([1, 2, 4, 5, 5], delays.Select(d => d.TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Next());
    }

    [Fact]
    public void An_unknown_key_in_the_configuration_file_is_a_usage_error_naming_the_file_and_the_key_meant()
    {
        string file = Path.Combine(_folder, "appsettings.json");
        File.WriteAllText(file, """{ "Proxy": { "ComponentJid": "proxy.file.test", "PublicHost": [ "192.0.2.1" ], "IdelTimeout": 60 } }""");

        UsageException ex = Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { ConfigFile = file }, s_env));

        Assert.Equal($"Unknown setting 'Proxy:IdelTimeout' in {file}. Did you mean 'Proxy:IdleTimeout'?", ex.Message);
    }

    [Fact]
    public void A_section_beside_proxy_and_logging_in_the_configuration_file_is_refused()
    {
        string file = Path.Combine(_folder, "appsettings.json");
        File.WriteAllText(file, """{ "Proxy": { "ComponentJid": "proxy.file.test", "PublicHost": "192.0.2.1" }, "Proxi": { "Rate": "1M" } }""");

        UsageException ex = Assert.Throws<UsageException>(() => ProxyConfiguration.Load(new ProxyArguments { ConfigFile = file }, s_env));

        Assert.StartsWith("Unknown setting 'Proxi:Rate'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_as_json_arrays_and_log_levels_are_known_keys()
    {
        string file = Path.Combine(_folder, "appsettings.json");
        File.WriteAllText(file, """
            { "Proxy": { "ComponentJid": "proxy.file.test", "PublicHost": [ "192.0.2.1" ], "AllowDomains": [ "a.test", "b.test" ], "LocalDomains": [ "file.test" ] },
              "Logging": { "LogLevel": { "Default": "Warning", "XmppTransfer.Proxy": "Error" } } }
            """);

        ProxySettings settings = ProxyConfiguration.Load(new ProxyArguments { ConfigFile = file }, s_env);

        Assert.Equal(["a.test", "b.test"], settings.Service.AllowedDomains);
        Assert.Equal("Warning", settings.Logging["LogLevel:Default"]);
    }

    [Fact]
    public void Every_known_proxy_setting_is_documented_in_docs_proxy_md()
    {
        string docs = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "proxy.md"));

        Assert.All(ProxyConfiguration.Keys.Names, key => Assert.Contains($"`{key["Proxy:".Length..]}`", docs, StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
