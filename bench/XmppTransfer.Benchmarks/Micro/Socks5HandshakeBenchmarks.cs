using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Wire;

namespace XmppTransfer.Benchmarks.Micro;

/// <summary>A full SOCKS5 (XEP-0065 flavour) client + server handshake over an in-memory duplex of two pipes.</summary>
[MemoryDiagnoser]
public class Socks5HandshakeBenchmarks
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly string _hash = Socks5Address.Compute("sid-1", "alice@example.test/a", "bob@example.test/b");

    [Benchmark]
    public async Task<string> ClientAndServerHandshake()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        await using var client = new DuplexStream(toClient.Reader.AsStream(), toServer.Writer.AsStream());
        await using var server = new DuplexStream(toServer.Reader.AsStream(), toClient.Writer.AsStream());
        var serverSide = Task.Run(async () =>
        {
            var address = await Socks5ServerHandshake.AcceptAsync(server, s_timeout, TimeProvider.System, CancellationToken.None);
            await Socks5ServerHandshake.SendReplyAsync(server, Socks5ReplyCode.Succeeded, address, CancellationToken.None);
            return address;
        });
        await Socks5ClientHandshake.ConnectAsync(client, _hash, s_timeout, CancellationToken.None);
        return await serverSide;
    }
}
