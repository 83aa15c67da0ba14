using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Cli.Server;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

public sealed class ServerSettingsTests
{
    private static XmppTransfer.Server.ServerOptions Map(params (string Key, string Value)[] settings) =>
        ServerSettings.Map(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            Path.GetTempPath(),
            NullLoggerFactory.Instance);

    [Fact]
    public void The_built_in_proxys_per_user_stream_limit_defaults_to_16_and_is_set_by_its_key()
    {
        Assert.Equal(16, Map().ProxyMaxActiveStreamsPerJid);
        Assert.Equal(40, Map(("Server:Proxy:MaxStreamsPerJid", "40")).ProxyMaxActiveStreamsPerJid);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("many")]
    public void A_per_user_stream_limit_that_is_not_a_positive_number_is_a_usage_error_naming_the_key(string value)
    {
        var ex = Assert.Throws<UsageException>(() => Map(("Server:Proxy:MaxStreamsPerJid", value)));

        Assert.Contains("Server:Proxy:MaxStreamsPerJid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_built_in_proxys_drain_time_defaults_to_30_s_and_is_set_by_its_key_in_seconds_or_hh_mm_ss_as_for_xft_proxy()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Map().ProxyDrainTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2.5), Map(("Server:Proxy:DrainTimeout", "2.5")).ProxyDrainTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), Map(("Server:Proxy:DrainTimeout", "00:02:00")).ProxyDrainTimeout);
        Assert.Equal(TimeSpan.Zero, Map(("Server:Proxy:DrainTimeout", "0")).ProxyDrainTimeout);
    }

    [Fact]
    public void A_drain_time_that_is_not_a_duration_is_a_usage_error_naming_the_key()
    {
        var ex = Assert.Throws<UsageException>(() => Map(("Server:Proxy:DrainTimeout", "soon")));

        Assert.Contains("Server:Proxy:DrainTimeout", ex.Message, StringComparison.Ordinal);

        // A negative one parses (hh:mm:ss allows a sign) and is refused by the options' validation, which xft server reports
        // as a usage error before anything starts.
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Map(("Server:Proxy:DrainTimeout", "-00:00:05")).Validate());
        Assert.Equal("ProxyDrainTimeout", negative.ParamName);
    }

    [Theory]
    [InlineData("Server:Proxy:DrainTimeout")]
    [InlineData("Server:Domain")]
    [InlineData("server:proxy:port")]
    [InlineData("xmpp.proxy.port")]
    [InlineData("Server:Components:proxy.example.test")]
    [InlineData("Logging:LogLevel:XmppTransfer.Server")]
    public void Every_key_the_server_reads_its_aliases_components_and_log_levels_are_known(string key) =>
        Assert.True(ServerSettings.Keys.IsKnown(key));

    [Fact]
    public void An_unknown_key_is_refused_naming_it_where_it_came_from_and_the_key_meant()
    {
        var ex = Assert.Throws<UsageException>(() => ServerSettings.Keys.Check(["Server:Domain", "Server:Proxy:Prot"], "in --set"));

        Assert.Equal("Unknown setting 'Server:Proxy:Prot' in --set. Did you mean 'Server:Proxy:Port'?", ex.Message);
    }

    [Fact]
    public void An_unknown_key_far_from_every_setting_is_refused_with_the_list_of_settings()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection([new("Colour", "blue")]).Build();

        var ex = Assert.Throws<UsageException>(() => ServerSettings.Keys.Check(settings, "in server.json"));

        Assert.StartsWith("Unknown setting 'Colour' in server.json. The settings are Server:Domain, Server:Listen, ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("and any under Server:Components:* or Logging:*.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_known_server_setting_is_documented_in_docs_server_md()
    {
        var docs = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "server.md"));

        Assert.All(ServerSettings.Keys.Names, key => Assert.Contains($"`{key}`", docs, StringComparison.Ordinal));
    }
}
