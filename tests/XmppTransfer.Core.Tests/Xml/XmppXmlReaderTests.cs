using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Tests.Xml;

public class XmppXmlReaderTests
{
    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='example.test' version='1.0'>";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Header_and_stanzas_are_read_in_order()
    {
        using var reader = Reader(Header + "<message to='a@b'><body>hi &amp; bye</body></message> <iq type='get' id='1'/></stream:stream>");
        var header = await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("abc", header.Id);
        Assert.Equal("example.test", header.From);
        Assert.Equal(Namespaces.Client, header.ContentNamespace);
        var message = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("hi & bye", message!.Element(XName.Get("body", Namespaces.Client))!.Value);
        var iq = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("1", (string?)iq!.Attribute("id"));
        Assert.Null(await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
    }

    [Fact]
    public async Task Component_stream_content_is_reported_in_the_client_namespace()
    {
        using var reader = Reader("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x'><iq type='get' id='1' from='a@b/c' to='proxy.b'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var header = await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal(Namespaces.Component, header.ContentNamespace);
        var iq = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal(XName.Get("iq", Namespaces.Client), iq!.Name);
        Assert.NotNull(iq.Element(XName.Get("query", Namespaces.DiscoInfo)));
    }

    [Fact]
    public async Task A_doctype_is_refused_with_a_stream_error()
    {
        using var reader = Reader("<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'b'>]>" + Header[21..]);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.True(ex.SentByUs);
        Assert.Equal("not-well-formed", ex.Condition);
    }

    [Fact]
    public async Task A_billion_laughs_payload_is_refused_quickly()
    {
        var laughs = new StringBuilder("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>");
        for (var i = 1; i < 10; i++)
        {
            laughs.Append(System.Globalization.CultureInfo.InvariantCulture, $"<!ENTITY lol{i} '{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))};", 10))}'>");
        }

        laughs.Append("]><lolz>&lol9;</lolz>");
        using var reader = Reader(laughs.ToString());
        await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap));
    }

    [Fact]
    public async Task An_undeclared_entity_inside_a_stanza_is_a_stream_error()
    {
        using var reader = Reader(Header + "<message><body>&xxe;</body></message>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("not-well-formed", ex.Condition);
    }

    [Fact]
    public async Task Comments_and_processing_instructions_are_restricted_xml()
    {
        using var reader = Reader(Header + "<!-- hello --><message/>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("restricted-xml", ex.Condition);
    }

    [Fact]
    public async Task An_endless_stanza_is_cut_off_at_the_size_limit()
    {
        var stream = new EndlessStream(Encoding.UTF8.GetBytes(Header + "<message><body>"), (byte)'a');
        using var reader = new XmppXmlReader(stream, new XmlLimits { MaxStanzaBytes = 64 * 1024 });
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
        Assert.True(stream.BytesServed < 1024 * 1024, $"read {stream.BytesServed} bytes before stopping");
    }

    [Fact]
    public async Task Deep_nesting_is_refused()
    {
        var deep = string.Concat(Enumerable.Repeat("<a>", 100)) + string.Concat(Enumerable.Repeat("</a>", 100));
        using var reader = Reader(Header + "<message>" + deep + "</message>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
    }

    [Fact]
    public async Task Garbage_after_the_header_is_not_well_formed()
    {
        using var reader = Reader(Header + "<<<>>>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("not-well-formed", ex.Condition);
    }

    [Theory]
    [InlineData("1.0\uFFFD", 5)]
    [InlineData("1.0\uFFFE", 5)]
    [InlineData("1.0\uFFFE", 6)]
    public async Task A_non_ascii_version_in_a_fragmented_xml_declaration_is_not_well_formed(string version, int fragment)
    {
        // Arriving a few bytes at a time, these make the parser itself fail with ArgumentOutOfRangeException (a negative copy
        // length while it re-reads the declaration): from a peer, that is malformed XML like any other, and must end the
        // stream with a stream error, not escape as a runtime exception.
        var bytes = Encoding.UTF8.GetBytes($"<?xml version='{version}'?>" + Header[21..]);
        using var reader = new XmppXmlReader(new ChunkedStream(bytes, fragment), XmlLimits.Default);

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap));

        Assert.True(ex.SentByUs);
        Assert.Equal("not-well-formed", ex.Condition);
    }

    [Fact]
    public async Task A_connection_that_ends_between_stanzas_is_a_closed_connection_not_malformed_xml()
    {
        using var reader = Reader(Header + "<message/> ");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.NotNull(await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        Assert.Equal("The peer closed the connection without closing its stream.", ex.Message);
    }

    [Fact]
    public async Task A_connection_that_ends_inside_a_stanza_is_a_closed_connection_that_says_so()
    {
        using var reader = Reader(Header + "<message><body>cut he");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        Assert.Equal("The peer closed the connection in the middle of a stanza.", ex.Message);
    }

    [Fact]
    public async Task Whitespace_inside_elements_is_kept_for_the_application()
    {
        using var reader = Reader(Header + "<iq type='set' id='1'><data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='s'>QU\n JD\n</data></iq>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var iq = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("QU\n JD\n", iq!.Element(XName.Get("data", Namespaces.Ibb))!.Value);
    }

    [Fact]
    public async Task An_element_with_more_attributes_than_the_limit_is_a_policy_violation()
    {
        // Each attribute is checked against those before it: 27,000 of them cost a server 1.4 s of CPU before any login.
        var attributes = string.Concat(Enumerable.Range(0, 65).Select(i => $" a{i}='x'"));
        using var reader = Reader(Header + "<message" + attributes + "/>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
    }

    [Fact]
    public async Task Sixty_four_attributes_are_read()
    {
        var attributes = string.Concat(Enumerable.Range(0, 64).Select(i => $" a{i}='{i}'"));
        using var reader = Reader(Header + "<message" + attributes + "/>");
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var message = await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("63", (string?)message!.Attribute("a63"));
    }

    [Fact]
    public async Task A_name_longer_than_the_limit_is_a_policy_violation_even_in_the_stream_header()
    {
        using var reader = Reader("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " + new string('n', 513) + "='1'>");
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
    }

    [Fact]
    public async Task A_stream_that_keeps_bringing_new_names_is_ended_with_a_policy_violation_and_repeated_names_are_not_counted()
    {
        var limits = new XmlLimits { MaxDistinctNames = 200, Names = new WireNames(100_000, 10_000_000) };
        var stanzas = string.Concat(Enumerable.Repeat("<message><body>same</body><x xmlns='urn:example:one'/></message>", 1000))
            + string.Concat(Enumerable.Range(0, 1000).Select(i => $"<message><n{i}/></message>"));
        using var reader = new XmppXmlReader(new MemoryStream(Encoding.UTF8.GetBytes(Header + stanzas)), limits);
        await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        for (var i = 0; i < 1000; i++)
        {
            Assert.NotNull(await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        }

        var read = 0;
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(async () =>
        {
            while (await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap) is not null)
            {
                read++;
            }
        });
        Assert.Equal("policy-violation", ex.Condition);
        Assert.InRange(read, 150, 199);
    }

    [Fact]
    public async Task Past_the_process_wide_budget_only_names_met_before_or_in_passing_namespaces_are_read()
    {
        // LINQ to XML keeps every name of a long-lived namespace (jabber:client, no namespace) for the life of the process.
        var limits = new XmlLimits { Names = new WireNames(maxNames: 1, maxChars: 1000) };
        using (var first = new XmppXmlReader(new MemoryStream(Encoding.UTF8.GetBytes(Header + "<message id='1'><body>a</body></message>")), limits))
        {
            await first.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
            Assert.NotNull(await first.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        }

        using var second = new XmppXmlReader(
            new MemoryStream(Encoding.UTF8.GetBytes(Header + "<message id='2'><body>b</body><x xmlns='urn:example:passing'><y/></x></message><message><fresh/></message>")),
            limits);
        await second.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        var known = await second.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("b", known!.Element(XName.Get("body", Namespaces.Client))!.Value);
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => second.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
    }

    [Fact]
    public async Task Before_authentication_a_peer_may_use_the_names_of_a_login_and_names_others_brought_but_adds_none()
    {
        var limits = new XmlLimits { Names = new WireNames(maxNames: 100, maxChars: 10_000) };
        using (var authenticated = new XmppXmlReader(new MemoryStream(Encoding.UTF8.GetBytes(Header + "<message><known/></message>")), limits))
        {
            await authenticated.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
            Assert.NotNull(await authenticated.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        }

        var xml = Header
            + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1' xml:lang='en'>biws</auth>"
            + "<message id='1'><known/></message>"
            + "<message><unheard/></message>";
        using var stranger = new XmppXmlReader(new MemoryStream(Encoding.UTF8.GetBytes(xml)), limits) { AdmitNewNames = false };
        await stranger.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
        Assert.Equal("SCRAM-SHA-1", (string?)(await stranger.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap))!.Attribute("mechanism"));
        Assert.NotNull(await stranger.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => stranger.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap));
        Assert.Equal("policy-violation", ex.Condition);
    }

    private static XmppXmlReader Reader(string xml) => new(new MemoryStream(Encoding.UTF8.GetBytes(xml)), XmlLimits.Default);

    /// <summary>Serves a prefix, then the same byte forever: a hostile peer that never ends its stanza.</summary>
    private sealed class EndlessStream(byte[] prefix, byte filler) : Stream
    {
        public long BytesServed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Fill(buffer.Span));

        public override int Read(byte[] buffer, int offset, int count) => Fill(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Fill(Span<byte> span)
        {
            var n = Math.Min(span.Length, 4096);
            for (var i = 0; i < n; i++)
            {
                var position = BytesServed + i;
                span[i] = position < prefix.Length ? prefix[position] : filler;
            }

            BytesServed += n;
            return n;
        }
    }
}
