using System.Text;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Tests.Xml;

/// <summary>
/// Seeded mutations of real stream openings and stanzas: whatever a broken or hostile peer sends, the reader ends with
/// one of its own errors (a stream error to send, or a closed connection), never with a raw parser or runtime exception.
/// </summary>
public sealed class XmppXmlReaderFuzzTests
{
    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(5);

    private static readonly string[] s_corpus =
    [
        Header + "<iq type='set' id='1' to='bob@example.test/r'><si xmlns='http://jabber.org/protocol/si' id='s1' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a.txt' size='10'/></si></iq>",
        Header + "<message to='a@b'><body>hi &amp; &#x41; &lt;bye&gt;</body></message><presence/></stream:stream>",
        Header + "<iq type='set' id='2'><data xmlns='http://jabber.org/protocol/ibb' sid='s1' seq='0'>AAEC</data></iq>",
        "<?xml version='1.0' encoding='UTF-8'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='proxy.example.test'><handshake>00ff</handshake>",
        Header + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg=</auth>",
        Header + "<a:iq xmlns:a='jabber:client' a:type='get' id='3'><![CDATA[x]]></a:iq>",
    ];

    private static readonly string[] s_inserts =
    [
        "<", ">", "/>", "</", "&", "&amp", "&#0;", "&#xD800;", "&#x110000;", "&lol;", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>",
        "<!--c-->", "<?pi x?>", "<![CDATA[", "]]>", "xmlns:a='x'", " a='1' a='2'", " xmlns=''", " xml:lang='", "\0", "\uFFFE", "\uD800",
        "<stream:stream>", "</stream:stream>", "<?xml version='1.0' encoding='utf-7'?>", "<?xml version='1.1'?>", "'", "\"", "=", ":", "a:b:c",
    ];

    [Fact]
    public async Task Mutated_streams_end_only_with_the_readers_own_errors()
    {
        var random = new Random(20261122);
        var failures = new List<string>();
        for (var i = 0; i < 20000 && failures.Count < 5; i++)
        {
            var input = Mutate(random, s_corpus[random.Next(s_corpus.Length)]);
            var bytes = random.Next(8) == 0 ? Encoding.Unicode.GetBytes(input) : Encoding.UTF8.GetBytes(input);
            if (random.Next(4) == 0 && bytes.Length > 0)
            {
                // Random bytes too: invalid UTF-8 sequences.
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            var chunk = random.Next(3) == 0 ? random.Next(1, 8) : int.MaxValue;
            var outcome = await ReadAllAsync(bytes, chunk);
            if (outcome is not null)
            {
                failures.Add($"#{i}: {outcome.GetType().Name}: {outcome.Message} <- {Convert.ToHexString(bytes)} chunk {chunk}\n{outcome}");
            }
        }

        Assert.Empty(failures);
    }

    private static string Mutate(Random random, string text)
    {
        var builder = new StringBuilder(text);
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var at = random.Next(builder.Length + 1);
            switch (random.Next(4))
            {
                case 0:
                    builder.Insert(at, s_inserts[random.Next(s_inserts.Length)]);
                    break;
                case 1 when at < builder.Length:
                    builder.Remove(at, Math.Min(random.Next(1, 12), builder.Length - at));
                    break;
                case 2:
                    builder.Length = at;
                    break;
                default:
                    builder.Insert(at, (char)random.Next(0x20, 0x7F));
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>Null when the stream ended with the reader's own error or cleanly; otherwise the exception that escaped.</summary>
    private static async Task<Exception?> ReadAllAsync(byte[] bytes, int chunk)
    {
        using var reader = new XmppXmlReader(new ChunkedStream(bytes, chunk), XmlLimits.Default);
        try
        {
            await reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(s_cap);
            for (var i = 0; i < 100 && await reader.ReadElementAsync(CancellationToken.None).WaitAsync(s_cap) is not null; i++)
            {
            }

            return null;
        }
        catch (Exception ex) when (ex is XmppStreamErrorException or XmppConnectionException)
        {
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
