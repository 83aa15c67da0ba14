using System.Net;
using System.Net.Sockets;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Internal;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// Our direct listener under a flood of raw TCP connections that never speak SOCKS5: those over its caps are closed at once,
/// and the real target still gets through. The flood comes from other loopback addresses (127.0.0.2 and up) than the target
/// (127.0.0.1), as from other hosts.
/// </summary>
public sealed class DirectListenerLimitsTests : IAsyncLifetime
{
    private const string Hash = "416781edf1ae50bad01cb8509ba35b43952bc345";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly List<Socket> _flood = [];
    private LoopbackRouter _router = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in _flood)
        {
            socket.Dispose();
        }

        await _router.DisposeAsync();
    }

    [Fact]
    public async Task Connections_over_the_cap_per_address_are_closed_at_once_and_the_real_target_still_connects_and_receives()
    {
        // The handshake timeout is far beyond the test: a flood connection that is closed was closed by the cap.
        var loggers = new RecordingLoggerFactory();
        var options = new Socks5BytestreamOptions
        {
            LoopbackOnly = true,
            Hosts = ["127.0.0.1"],
            DiscoverProxies = false,
            ListenerHandshakeTimeout = TimeSpan.FromMinutes(5),
            MaxDirectConnectionsPerAddress = 3,
        };
        var aliceS5b = new Socks5BytestreamManager(options);
        var aliceOptions = _router.ClientOptions("alice") with { LoggerFactory = loggers };
        await using var alice = await _router.ConnectAsync("alice", c => c.AddExtension(aliceS5b), aliceOptions);
        await using var bob = await _router.ConnectAsync("bob");
        bob.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, async (iq, ct) =>
        {
            var host = Assert.Single(BytestreamsQuery.Parse(iq.Element(BytestreamsQuery.Name)!).StreamHosts);
            var listener = new IPEndPoint(IPAddress.Parse(host.Host), host.Port);
            var held = new List<Socket>();
            for (var i = 0; i < 3; i++)
            {
                held.Add(await FloodAsync("127.0.0.2", listener));
            }

            for (var i = 0; i < 5; i++)
            {
                await AssertClosedByUsAsync(await FloodAsync("127.0.0.2", listener));
            }

            await loggers.WaitForAsync(2019).WaitAsync(s_cap, ct);
            Assert.All(held, AssertStillOpen);

            // The real target, from its own address, is admitted while the three are held.
            var hash = Socks5Address.Compute("sid1", alice.BoundJid.ToString(), bob.BoundJid.ToString());
            var stream = await Socks5Dialer.ConnectAsync(host.Host, host.Port, hash, s_cap, 0, ct);
            _ = Task.Run(async () =>
            {
                await using (stream)
                {
                    await stream.WriteAsync("hi"u8.ToArray(), ct);
                }
            }, ct);
            return BytestreamsQuery.Used("sid1", host.Jid).ToXml();
        });

        await using var bytestream = await aliceS5b.ConnectAsync(bob.BoundJid, "sid1", Ct).WaitAsync(s_cap, Ct);
        var buffer = new byte[2];
        await bytestream.Stream.ReadExactlyAsync(buffer, Ct).AsTask().WaitAsync(s_cap, Ct);

        Assert.False(bytestream.ViaProxy);
        Assert.Equal("hi"u8.ToArray(), buffer);
        Assert.Single(loggers.Events, e => e.Id.Id == 2019);
    }

    [Fact]
    public async Task Connections_over_the_listeners_cap_are_closed_whatever_their_address_until_a_handshake_ends()
    {
        var options = new Socks5BytestreamOptions { ListenerHandshakeTimeout = TimeSpan.FromMinutes(5), MaxDirectConnections = 4, MaxDirectConnectionsPerAddress = 2 };
        await using var listener = DirectListener.Start([IPAddress.Loopback], options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var registration = listener.Register(Hash);
        var endPoint = listener.EndPoints[0];
        List<Socket> held = [];
        foreach (var source in new[] { "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3" })
        {
            held.Add(await FloodAsync(source, endPoint));
        }

        await AssertClosedByUsAsync(await FloodAsync("127.0.0.4", endPoint));
        await AssertClosedByUsAsync(await FloodAsync("127.0.0.5", endPoint));
        Assert.All(held, AssertStillOpen);

        // One flood connection ends its side; once our close of it arrives, its place is free again, and the real target's
        // connection takes it.
        held[0].Shutdown(SocketShutdown.Send);
        await AssertClosedByUsAsync(held[0]);
        await using var target = await Socks5Dialer.ConnectAsync("127.0.0.1", endPoint.Port, Hash, s_cap, 0, Ct).WaitAsync(s_cap, Ct);
        await using var accepted = await registration.Connected.WaitAsync(s_cap, Ct);
        Assert.All(held.Skip(1), AssertStillOpen);
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(32, 0)]
    public void The_caps_must_admit_at_least_one_connection(int total, int perAddress) =>
        Assert.Throws<ArgumentOutOfRangeException>(
            () => new Socks5BytestreamManager(new Socks5BytestreamOptions { MaxDirectConnections = total, MaxDirectConnectionsPerAddress = perAddress }));

    /// <summary>A raw TCP connection from <paramref name="source"/> that sends nothing.</summary>
    private async Task<Socket> FloodAsync(string source, IPEndPoint listener)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _flood.Add(socket);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        await socket.ConnectAsync(listener, Ct).AsTask().WaitAsync(s_cap, Ct);
        return socket;
    }

    /// <summary>Our side closed it: a read ends (0 bytes) or the connection was reset, without our sending anything.</summary>
    private static async Task AssertClosedByUsAsync(Socket socket)
    {
        var buffer = new byte[16];
        try
        {
            var read = await socket.ReceiveAsync(buffer, Ct).AsTask().WaitAsync(s_cap, Ct);
            Assert.Equal(0, read);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with unread data: a reset is as good as an end.
        }
    }

    /// <summary>Nothing to read and no end: the listener still waits for this connection's greeting.</summary>
    private static void AssertStillOpen(Socket socket) => Assert.False(socket.Poll(0, SelectMode.SelectRead));
}
