namespace XmppTransfer.Server.Tests;

public sealed class ServerOptionsTests
{
    [Fact]
    public void A_blank_proxy_external_host_is_rejected_and_none_is_fine()
    {
        var blank = Assert.Throws<ArgumentException>(() => (ServerOptions.Default with { ProxyExternalHost = " " }).Validate());
        ServerOptions.Default.Validate();
        (ServerOptions.Default with { ProxyExternalHost = "files.example.test" }).Validate();

        Assert.Equal(nameof(ServerOptions.ProxyExternalHost), blank.ParamName);
    }

    [Fact]
    public void A_per_user_stream_limit_below_one_is_rejected()
    {
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => (ServerOptions.Default with { ProxyMaxActiveStreamsPerJid = 0 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (ServerOptions.Default with { ProxyMaxActiveStreamsPerJid = -1 }).Validate());

        Assert.Equal(nameof(ServerOptions.ProxyMaxActiveStreamsPerJid), zero.ParamName);
    }
}
