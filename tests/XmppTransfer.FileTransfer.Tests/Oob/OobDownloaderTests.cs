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
    [InlineData("0.1.2.3", "this network, 0.0.0.0/8")]
    [InlineData("100.64.0.0", "shared (CGNAT), 100.64.0.0/10")]
    [InlineData("100.127.255.255", "shared (CGNAT), 100.64.0.0/10")]
    [InlineData("192.0.0.8", "IETF protocol assignments, 192.0.0.0/24")]
    [InlineData("192.0.0.170", "IETF protocol assignments, 192.0.0.0/24")]
    [InlineData("192.0.2.1", "documentation, 192.0.2.0/24")]
    [InlineData("198.18.0.1", "benchmarking, 198.18.0.0/15")]
    [InlineData("198.19.255.255", "benchmarking, 198.18.0.0/15")]
    [InlineData("198.51.100.7", "documentation, 198.51.100.0/24")]
    [InlineData("203.0.113.9", "documentation, 203.0.113.0/24")]
    [InlineData("224.0.0.1", "multicast, 224.0.0.0/4")]
    [InlineData("239.255.255.250", "multicast, 224.0.0.0/4")]
    [InlineData("240.0.0.1", "reserved, 240.0.0.0/4")]
    [InlineData("255.255.255.255", "limited broadcast, in 240.0.0.0/4")]
    [InlineData("ff02::1", "multicast, ff00::/8")]
    [InlineData("ff0e::fb", "multicast, ff00::/8")]
    [InlineData("100::1", "discard-only, 100::/64")]
    [InlineData("2001:2::1", "benchmarking, 2001:2::/48")]
    [InlineData("2001:10::1", "ORCHID, 2001:10::/28")]
    [InlineData("2001:1::4", "IETF protocol assignments, 2001::/23")]
    [InlineData("2001:1ff:ffff::1", "IETF protocol assignments, 2001::/23")]
    [InlineData("2001:4:113::1", "IETF protocol assignments, 2001::/23, next to AS112-v6")]
    [InlineData("192.88.99.1", "6to4 relay anycast, 192.88.99.0/24")]
    [InlineData("2001:db8::1", "documentation, 2001:db8::/32")]
    [InlineData("3fff:fff::1", "documentation, 3fff::/20")]
    [InlineData("5f00::1", "SRv6 SIDs, 5f00::/16")]
    [InlineData("fec0::1", "site-local, fec0::/10")]
    [InlineData("::5efe:10.0.0.1", "ISATAP identifier of a private address")]
    [InlineData("2001:4860:1::5efe:10.0.0.1", "ISATAP identifier of a private address under a global prefix")]
    [InlineData("2001:4860:1::200:5efe:192.168.0.1", "ISATAP identifier with the universal bit, of a private address")]
    [InlineData("2002:808:808:1::5efe:127.0.0.1", "ISATAP identifier of loopback under a public 6to4 prefix")]
    [InlineData("::ffff:255.255.255.255", "IPv4-mapped broadcast")]
    [InlineData("64:ff9b::e000:1", "NAT64 of multicast")]
    [InlineData("2002:c612:1::1", "6to4 of benchmarking")]
    [InlineData("2001:0:f000:1::1", "Teredo with a reserved server")]
    public void Multicast_broadcast_reserved_benchmarking_documentation_and_isatap_private_addresses_are_refused(string address, string range) =>
        Assert.True(OobDownloader.IsPrivate(IPAddress.Parse(address)), range);

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("192.0.1.1")]
    [InlineData("192.0.3.1")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("2001:3::1")]
    [InlineData("2001:1::1")]
    [InlineData("2001:4:112::1")]
    [InlineData("2001:20::1")]
    [InlineData("2001:30::1")]
    [InlineData("2001:200::1")]
    [InlineData("192.88.100.1")]
    [InlineData("2001:db9::1")]
    [InlineData("4000::1")]
    [InlineData("2001:4860:1::5efe:8.8.8.8")]
    [InlineData("2001:4860:1::200:5efe:8.8.8.8")]
    public void Public_addresses_next_to_the_refused_ranges_are_not_private(string address) =>
        Assert.False(OobDownloader.IsPrivate(IPAddress.Parse(address)));

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
