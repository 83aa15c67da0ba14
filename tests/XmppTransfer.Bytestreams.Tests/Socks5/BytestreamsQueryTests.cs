using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

public sealed class BytestreamsQueryTests
{
    [Fact]
    public void An_offer_lists_the_streamhosts_in_order_with_sid_and_tcp_mode()
    {
        var offer = BytestreamsQuery.Offer("s1",
        [
            new StreamHost(Jid.Parse("alice@example.test/a"), "127.0.0.1", 5000),
            new StreamHost(Jid.Parse("proxy.example.test"), "127.0.0.1", 7777),
        ]).ToXml();

        Assert.Equal(
            "<query sid=\"s1\" mode=\"tcp\" xmlns=\"http://jabber.org/protocol/bytestreams\">"
            + "<streamhost jid=\"alice@example.test/a\" host=\"127.0.0.1\" port=\"5000\" />"
            + "<streamhost jid=\"proxy.example.test\" host=\"127.0.0.1\" port=\"7777\" /></query>",
            offer.ToString(SaveOptions.DisableFormatting));
    }

    [Fact]
    public void A_streamhost_without_port_means_1080_and_psi_children_are_ignored()
    {
        var query = BytestreamsQuery.Parse(XElement.Parse(
            "<query xmlns='http://jabber.org/protocol/bytestreams' sid='s'><streamhost jid='p.example' host='127.0.0.1'>"
            + "<proxy xmlns='http://affinix.com/jabber/stream'/></streamhost><fast xmlns='http://affinix.com/jabber/stream'/></query>"));

        var host = Assert.Single(query.StreamHosts);
        Assert.Equal(1080, host.Port);
        Assert.True(host.IsLoopback);
    }

    [Fact]
    public void Streamhost_used_round_trips()
    {
        var used = BytestreamsQuery.Used("s", Jid.Parse("proxy.example.test")).ToXml();

        Assert.Equal(Jid.Parse("proxy.example.test"), BytestreamsQuery.Parse(used).StreamHostUsed);
        Assert.Equal("s", BytestreamsQuery.Parse(used).Sid);
    }

    [Fact]
    public void Activation_carries_the_target_full_jid_as_text()
    {
        var activate = BytestreamsQuery.Activation("s", Jid.Parse("bob@example.test/b")).ToXml();

        Assert.Equal("bob@example.test/b", activate.Element(XName.Get("activate", Namespaces.Bytestreams))!.Value);
    }
}
