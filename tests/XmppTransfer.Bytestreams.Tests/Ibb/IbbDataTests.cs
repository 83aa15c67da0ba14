using System.Xml.Linq;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Tests.Ibb;

public class IbbDataTests
{
    [Fact]
    public void Data_is_base64_with_padding_and_no_whitespace()
    {
        var data = IbbData.Create("s1", 65535, new byte[100]);
        Assert.Equal("65535", (string?)data.Attribute("seq"));
        Assert.DoesNotContain('\n', data.Value);
        Assert.EndsWith("=", data.Value, StringComparison.Ordinal);
        Assert.Equal(XName.Get("data", Namespaces.Ibb), data.Name);
    }

    [Theory]
    [InlineData("QUJD", 3)]
    [InlineData("QU\nJD\n", 3)]
    [InlineData(" QUI= ", 2)]
    [InlineData("", 0)]
    public void Whitespace_is_tolerated_on_receive(string text, int expected) =>
        Assert.Equal(expected, IbbData.Decode(text, new byte[16]));

    [Theory]
    [InlineData("QU=D")]
    [InlineData("QUJ")]
    [InlineData("QU*D")]
    [InlineData("QUI=QUJD")]
    public void Invalid_base64_is_rejected(string text) => Assert.Equal(-1, IbbData.Decode(text, new byte[16]));

    [Fact]
    public void A_chunk_larger_than_the_destination_is_rejected() => Assert.Equal(-1, IbbData.Decode("QUJDRA==", new byte[3]));

    [Theory]
    [InlineData("<open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='0'/>")]
    [InlineData("<open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='65536'/>")]
    [InlineData("<open xmlns='http://jabber.org/protocol/ibb' sid='s'/>")]
    [InlineData("<open xmlns='http://jabber.org/protocol/ibb' block-size='4096'/>")]
    [InlineData("<open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='4096' stanza='presence'/>")]
    public void Bad_opens_are_answered_with_bad_request(string xml)
    {
        var ex = Assert.Throws<XmppStanzaErrorException>(() => IbbOpen.Parse(XElement.Parse(xml)));
        Assert.Equal("bad-request", ex.Error.Condition);
    }

    [Fact]
    public void An_open_without_stanza_defaults_to_iq()
    {
        var open = IbbOpen.Parse(XElement.Parse("<open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='4096'/>"));
        Assert.Equal(new IbbOpen("s", 4096, IbbStanzaKind.Iq), open);
    }
}
