using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Server.Tests;

public sealed class BuiltInProxyTests
{
    private static readonly Jid s_proxy = Jid.Parse("proxy.example.test");

    [Fact]
    public async Task The_built_in_proxy_relays_a_socks5_pair_activated_by_the_requester()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        var dstAddr = Socks5Address.Compute("sid-1", alice.BoundJid.ToString(), bob.BoundJid.ToString());
        using var target = await Socks5ConnectAsync(harness, dstAddr);
        using var requester = await Socks5ConnectAsync(harness, dstAddr);

        var byTarget = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => bob.SendIqAsync(Activation("sid-1", bob.BoundJid)).WaitAsync(ServerHarness.Cap));
        await alice.SendIqAsync(Activation("sid-1", bob.BoundJid)).WaitAsync(ServerHarness.Cap);
        var payload = RandomNumberGenerator.GetBytes(200_000);
        var sending = requester.SendAsync(payload);
        var received = await ReadExactlyAsync(target, payload.Length);
        await sending.WaitAsync(ServerHarness.Cap);

        Assert.Equal("item-not-found", byTarget.Error.Condition);
        Assert.Equal(payload, received);
        Assert.Equal(1, harness.Server.ProxyMetrics!.Activations);
    }

    [Fact]
    public async Task Activating_with_one_leg_only_is_not_allowed()
    {
        await using var harness = await ServerHarness.StartAsync();
        var alice = await harness.ConnectAsync("alice", "req");
        var bob = await harness.ConnectAsync("bob", "tgt");
        using var target = await Socks5ConnectAsync(harness, Socks5Address.Compute("sid-2", alice.BoundJid.ToString(), bob.BoundJid.ToString()));

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => alice.SendIqAsync(Activation("sid-2", bob.BoundJid)).WaitAsync(ServerHarness.Cap));

        Assert.Equal("not-allowed", ex.Error.Condition);
    }

    private static XElement Activation(string sid, Jid target) => Stanza.MakeIq(
        IqType.Set,
        s_proxy,
        new XElement(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", sid), new XElement(XName.Get("activate", Namespaces.Bytestreams), target.ToString())));

    private static async Task<Socket> Socks5ConnectAsync(ServerHarness harness, string dstAddr)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(harness.Server.ProxyEndPoint!).WaitAsync(ServerHarness.Cap);

        // +----+----------+----------+      +----+--------+
        // |VER | NMETHODS | METHODS  |  →   |VER | METHOD |
        // | 05 |    01    |    00    |  ←   | 05 |   00   |
        await socket.SendAsync(new byte[] { 5, 1, 0 });
        Assert.Equal(new byte[] { 5, 0 }, await ReadExactlyAsync(socket, 2));

        // +----+-----+-------+------+----------+----------+
        // |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |   ATYP 03, length 40, hex SHA-1; port 0
        var request = new List<byte> { 5, 1, 0, 3, 40 };
        request.AddRange(Encoding.ASCII.GetBytes(dstAddr));
        request.AddRange(new byte[] { 0, 0 });
        await socket.SendAsync(request.ToArray());
        var reply = await ReadExactlyAsync(socket, 4 + 1 + 40 + 2);
        Assert.Equal(0, reply[1]);
        return socket;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(ServerHarness.Cap);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }
}
