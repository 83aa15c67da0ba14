using System.Net;
using XmppTransfer.Server.Internal;

namespace XmppTransfer.Server.Tests.Internal;

public sealed class ProxyHostChoiceTests
{
    private static readonly IPEndPoint s_anyV4 = new(IPAddress.Any, 7777);
    private static readonly IPEndPoint s_anyV6 = new(IPAddress.IPv6Any, 7777);

    [Fact]
    public void A_configured_external_address_is_advertised_whatever_the_proxy_listens_on()
    {
        Assert.Equal(new ProxyHostChoice("203.0.113.5", false), ProxyHostChoice.For("203.0.113.5", s_anyV4, new IPEndPoint(IPAddress.Any, 5222)));
    }

    [Fact]
    public void A_proxy_bound_to_one_address_advertises_that_address()
    {
        Assert.Equal(new ProxyHostChoice("127.0.0.2", false), ProxyHostChoice.For(null, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 7777), new IPEndPoint(IPAddress.Any, 5222)));
    }

    [Fact]
    public void A_proxy_on_every_address_advertises_the_client_listeners_address_when_that_is_one_address()
    {
        Assert.Equal(new ProxyHostChoice("192.0.2.10", false), ProxyHostChoice.For(null, s_anyV4, new IPEndPoint(IPAddress.Parse("192.0.2.10"), 5222)));
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public void With_everything_on_every_address_it_falls_back_to_loopback_and_says_that_only_local_clients_can_use_it(string clientAddress)
    {
        var choice = ProxyHostChoice.For(null, clientAddress == "::" ? s_anyV6 : s_anyV4, new IPEndPoint(IPAddress.Parse(clientAddress), 5222));

        Assert.Equal(new ProxyHostChoice("127.0.0.1", true), choice);
    }
}
