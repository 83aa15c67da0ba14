using System.Buffers;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Tests.Xml;

public class StanzaSerializerTests
{
    [Fact]
    public void Client_stanzas_inherit_the_stream_namespace_and_extensions_declare_theirs()
    {
        var iq = new XElement(
            XName.Get("iq", Namespaces.Client),
            new XAttribute("type", "set"),
            new XAttribute("id", "1"),
            new XElement(XName.Get("open", Namespaces.Ibb), new XAttribute("sid", "s1"), new XAttribute("block-size", "4096")));
        Assert.Equal(
            "<iq type=\"set\" id=\"1\"><open xmlns=\"http://jabber.org/protocol/ibb\" sid=\"s1\" block-size=\"4096\"/></iq>",
            Write(iq, Namespaces.Client));
    }

    [Fact]
    public void Component_streams_write_client_stanzas_without_a_namespace_declaration()
    {
        var message = new XElement(XName.Get("message", Namespaces.Client), new XElement(XName.Get("body", Namespaces.Client), "x"));
        Assert.Equal("<message><body>x</body></message>", Write(message, Namespaces.Component));
    }

    [Fact]
    public void Text_and_attributes_are_escaped()
    {
        var message = new XElement(
            XName.Get("message", Namespaces.Client),
            new XAttribute("to", "a\"b'<&>"),
            new XElement(XName.Get("body", Namespaces.Client), "1 < 2 & 3 > 2\r\n"));
        Assert.Equal(
            "<message to=\"a&quot;b&apos;&lt;&amp;&gt;\"><body>1 &lt; 2 &amp; 3 &gt; 2&#xD;\n</body></message>",
            Write(message, Namespaces.Client));
    }

    [Fact]
    public void Stream_namespace_elements_use_the_stream_prefix_and_xml_lang_keeps_its_prefix()
    {
        var error = new XElement(
            XName.Get("error", Namespaces.Streams),
            new XElement(XName.Get("conflict", Namespaces.StreamErrors)),
            new XElement(XName.Get("text", Namespaces.StreamErrors), new XAttribute(XNamespace.Xml + "lang", "en"), "bye"));
        Assert.Equal(
            "<stream:error><conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/><text xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\" xml:lang=\"en\">bye</text></stream:error>",
            Write(error, Namespaces.Client));
    }

    [Fact]
    public async Task What_the_serializer_writes_the_reader_reads_back_unchanged()
    {
        var original = new XElement(
            XName.Get("iq", Namespaces.Client),
            new XAttribute("type", "set"),
            new XAttribute("id", "q&1"),
            new XElement(
                XName.Get("si", Namespaces.Si),
                new XAttribute("id", "s"),
                new XElement(XName.Get("file", Namespaces.SiFileTransfer), new XAttribute("name", "a <b>.txt"), new XElement(XName.Get("desc", Namespaces.SiFileTransfer), "ü & é"))));
        var buffer = new ArrayBufferWriter<byte>();
        StanzaSerializer.WriteStreamHeader(buffer, Namespaces.Client, "example.test", null, "id1");
        StanzaSerializer.Write(original, Namespaces.Client, buffer);
        using var reader = new XmppXmlReader(new MemoryStream(buffer.WrittenSpan.ToArray()), XmlLimits.Default);
        var header = await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("id1", header.Id);
        var back = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(XNode.DeepEquals(original, back), back?.ToString());
    }

    private static string Write(XElement element, string streamNamespace)
    {
        var buffer = new ArrayBufferWriter<byte>();
        StanzaSerializer.Write(element, streamNamespace, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
