using System.Buffers;
using System.Xml.Linq;
using BenchmarkDotNet.Attributes;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Benchmarks.Micro;

/// <summary>Stanza parse (XmppXmlReader over a MemoryStream) and write (StanzaSerializer): 100 IBB data stanzas of 4096 bytes.</summary>
[MemoryDiagnoser]
public class XmlBenchmarks
{
    private const int Stanzas = 100;
    private byte[] _stream = [];
    private XElement _stanza = null!;
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        var chunk = new byte[4096];
        new Random(42).NextBytes(chunk);
        _stanza = new XElement(
            XName.Get("iq", Namespaces.Client),
            new XAttribute("type", "set"),
            new XAttribute("id", "ibb-1"),
            new XAttribute("to", "bob@example.test/bench"),
            IbbData.Create("sid-1", 1, chunk));
        var buffer = new ArrayBufferWriter<byte>();
        StanzaSerializer.WriteStreamHeader(buffer, Namespaces.Client, "example.test", null, "id1");
        for (var i = 0; i < Stanzas; i++)
        {
            StanzaSerializer.Write(_stanza, Namespaces.Client, buffer);
        }

        _stream = buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses the stream header and 100 stanzas into XElements.</summary>
    [Benchmark(OperationsPerInvoke = Stanzas)]
    public async Task<int> ParseStanza()
    {
        using var reader = new XmppXmlReader(new MemoryStream(_stream, writable: false), XmlLimits.Default);
        await reader.ReadHeaderAsync(CancellationToken.None);
        var count = 0;
        while (await reader.ReadElementAsync(CancellationToken.None) is not null && ++count < Stanzas)
        {
        }

        return count;
    }

    /// <summary>Serialises one IBB data stanza (4096-byte block) to UTF-8.</summary>
    [Benchmark]
    public int WriteStanza()
    {
        _output.ResetWrittenCount();
        StanzaSerializer.Write(_stanza, Namespaces.Client, _output);
        return _output.WrittenCount;
    }
}
