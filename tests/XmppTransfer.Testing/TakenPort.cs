using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Testing;

/// <summary>
/// A loopback TCP port already in use, held by a listener of ours until disposed: for the "port in use" paths of a
/// server or of our SOCKS5 listener. (A port that should refuse connections is a <see cref="RefusingPort"/>.)
/// </summary>
public sealed class TakenPort : IDisposable
{
    private readonly Socket _holder = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public TakenPort()
    {
        _holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _holder.Listen(1);
        EndPoint = (IPEndPoint)_holder.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    public void Dispose() => _holder.Dispose();
}
