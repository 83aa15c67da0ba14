using System.Net;
using XmppTransfer.Core.Transport;

namespace XmppTransfer.Core.Tests.Transport;

public sealed class RemoteAddressKeyTests
{
    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::9", "2001:db8:1:2::")]
    public void A_remote_address_counts_as_itself_and_ipv6_by_its_64(string remote, string key) =>
        Assert.Equal(IPAddress.Parse(key), RemoteAddressKey.Of(IPAddress.Parse(remote)));
}
