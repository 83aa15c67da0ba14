using System.Net;
using XmppTransfer.FileTransfer.Oob;

namespace XmppTransfer.FileTransfer.Tests.Oob;

public sealed class OobDownloaderTests
{
    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.5.4")]
    [InlineData("192.168.1.1")]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    public void Plain_private_loopback_and_link_local_addresses_are_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    public void An_ipv4_mapped_private_address_is_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("::10.0.0.1")]
    [InlineData("::127.0.0.1")]
    [InlineData("::192.168.0.10")]
    public void An_ipv4_compatible_private_address_is_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("64:ff9b::10.0.0.1")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("64:ff9b::c0a8:101")]
    [InlineData("64:ff9b:1::808:808")]
    public void A_nat64_address_of_a_private_ipv4_address_or_for_local_use_is_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("2002:a00:1::1")]
    [InlineData("2002:7f00:1::")]
    [InlineData("2002:a9fe:a9fe:1::1")]
    [InlineData("2002:c0a8:101::1")]
    public void A_6to4_address_of_a_private_ipv4_address_is_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("2001:0:a00:1::1")] // server 10.0.0.1
    [InlineData("2001:0:808:808::f5ff:fffe")] // server 8.8.8.8, client 10.0.0.1 (inverted)
    public void A_teredo_address_with_a_private_server_or_client_is_private(string address) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("::8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    [InlineData("2001:0:808:808::f7f7:f7f7")]
    public void Public_addresses_in_every_form_are_not_private(string address) =>
        Assert.False(OobDownloader.IsPrivate(IPAddress.Parse(address)));
}
