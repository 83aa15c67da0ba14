using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Testing;

/// <summary>
/// A loopback port that refuses every connection for as long as this object lives, and that no other test can take
/// meanwhile: the port a test hands out as "closed".
/// </summary>
/// <remarks>
/// <para>
/// TCP: a socket bound to 127.0.0.1:0 that never listens. A connect finds no listener and gets a reset (connection
/// refused), and, while the socket holds the port, the kernel neither hands it out for port 0 nor lets anyone listen on
/// it. A port bound and released at once (<see cref="FreePort"/>) could be given to a parallel test's listener before
/// the connect that should fail.
/// </para>
/// <para>
/// UDP: a socket bound to 127.0.0.1:0 and connected to its own address. A connected UDP socket takes datagrams only from
/// its peer, so one from anywhere else finds no socket and the kernel answers it with an ICMP port unreachable, which a
/// connected sender sees as connection refused.
/// </para>
/// <para>Linux semantics; the tests run on Linux.</para>
/// </remarks>
public sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket;

    /// <summary>Holds a refusing loopback port for <paramref name="protocol"/> (TCP or UDP).</summary>
    public RefusingPort(ProtocolType protocol = ProtocolType.Tcp)
    {
        if (protocol is not (ProtocolType.Tcp or ProtocolType.Udp))
        {
            throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "Only TCP and UDP ports can refuse.");
        }

        var type = protocol == ProtocolType.Tcp ? SocketType.Stream : SocketType.Dgram;
        _socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        try
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
            if (protocol == ProtocolType.Udp)
            {
                _socket.Connect(EndPoint);
            }
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    /// <summary>The held endpoint: 127.0.0.1 and <see cref="Port"/>.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The held port.</summary>
    public int Port => EndPoint.Port;

    /// <summary>Releases the port.</summary>
    public void Dispose() => _socket.Dispose();
}
