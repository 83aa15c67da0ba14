using System.Xml.Linq;
using BenchmarkDotNet.Attributes;
using XmppTransfer.Bytestreams.Ibb;

namespace XmppTransfer.Benchmarks.Micro;

/// <summary>IBB block encode (IbbData.Create: base64 into an element) and decode (IbbData.Decode), 4096-byte blocks.</summary>
[MemoryDiagnoser]
public class IbbBenchmarks
{
    private readonly byte[] _chunk = new byte[4096];
    private readonly byte[] _decoded = new byte[IbbData.MaxDecodedLength(8192)];
    private string _text = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        new Random(42).NextBytes(_chunk);
        _text = Convert.ToBase64String(_chunk);
    }

    [Benchmark]
    public XElement EncodeBlock() => IbbData.Create("sid-1", 7, _chunk);

    [Benchmark]
    public int DecodeBlock() => IbbData.Decode(_text, _decoded);
}
