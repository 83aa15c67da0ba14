using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Cli.Server;

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
}
