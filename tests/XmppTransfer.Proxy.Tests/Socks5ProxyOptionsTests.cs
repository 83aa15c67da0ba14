namespace XmppTransfer.Proxy.Tests;

public sealed class Socks5ProxyOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_documented_values()
    {
        Socks5ProxyOptions options = Socks5ProxyOptions.Default;

        options.Validate();
        Assert.Equal(2, options.ListenEndpoints.Count);
        Assert.All(options.ListenEndpoints, e => Assert.Equal(7777, e.Port));
        Assert.Equal(TimeSpan.FromSeconds(10), options.HandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.UnactivatedTimeout);
        Assert.Null(options.MaxBytesPerStream);
    }

    [Fact]
    public void Out_of_range_values_are_rejected_by_the_proxy_constructor()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Socks5Proxy(Socks5ProxyOptions.Default with { HandshakeTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Socks5Proxy(Socks5ProxyOptions.Default with { MaxConnectionsPerAddress = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Socks5Proxy(Socks5ProxyOptions.Default with { BytesPerSecondTotal = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Socks5Proxy(Socks5ProxyOptions.Default with { RelayBufferSize = 100 }));
        Assert.Throws<ArgumentException>(() => new Socks5Proxy(Socks5ProxyOptions.Default with { ListenEndpoints = [] }));
    }
}
