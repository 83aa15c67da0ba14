using XmppTransfer.Bytestreams.Socks5;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

public sealed class Socks5AddressTests
{
    [Fact]
    public void Compute_matches_the_dstaddr_of_the_xep_0065_muc_example()
    {
        // XEP-0065 §7 "Use with Multi-User Chat" (xsf/xeps, xep-0065.xml): the Requester
        // requester@example.com/foo offers sid 'yia72g3v49j7' to room@conference.example.net/Tget with
        // dstaddr='416781edf1ae50bad01cb8509ba35b43952bc345'.
        string dstAddr = Socks5Address.Compute("yia72g3v49j7", "requester@example.com/foo", "room@conference.example.net/Tget");

        Assert.Equal("416781edf1ae50bad01cb8509ba35b43952bc345", dstAddr);
    }

    [Fact]
    public void Compute_hashes_non_ascii_jids_as_utf8()
    {
        // Expected value computed independently: printf '%s' 'sidrömeo@montague.lit/orchardjüliet@capulet.lit/balcony' | sha1sum
        string dstAddr = Socks5Address.Compute("sid", "römeo@montague.lit/orchard", "jüliet@capulet.lit/balcony");

        Assert.Equal("4ce41c80a78ad080f5a431eb2638ce360a44952d", dstAddr);
    }

    [Theory]
    [InlineData("416781edf1ae50bad01cb8509ba35b43952bc345", true)]
    [InlineData("416781EDF1AE50BAD01CB8509BA35B43952BC345", true)]
    [InlineData("416781edf1ae50bad01cb8509ba35b43952bc34", false)]
    [InlineData("416781edf1ae50bad01cb8509ba35b43952bc3455", false)]
    [InlineData("416781edf1ae50bad01cb8509ba35b43952bc34g", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValid_accepts_exactly_forty_hex_digits(string? value, bool expected) =>
        Assert.Equal(expected, Socks5Address.IsValid(value));
}
