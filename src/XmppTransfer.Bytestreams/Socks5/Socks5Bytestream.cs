using System.Net.Sockets;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// An established SOCKS5 bytestream (XEP-0065): a TCP connection that carries raw bytes, either straight between the
/// parties (direct) or through a proxy that relays. Dispose closes the connection.
/// </summary>
public sealed class Socks5Bytestream : IAsyncDisposable, IDisposable
{
    private readonly NetworkStream _stream;
    private int _disposed;

    internal Socks5Bytestream(Socket socket, NetworkStream stream, string sid, Jid peer, Jid streamHost, bool viaProxy)
    {
        Socket = socket;
        _stream = stream;
        Sid = sid;
        Peer = peer;
        StreamHost = streamHost;
        ViaProxy = viaProxy;
    }

    /// <summary>The session id the stream was negotiated for.</summary>
    public string Sid { get; }

    /// <summary>The other party (full JID).</summary>
    public Jid Peer { get; }

    /// <summary>The streamhost the stream goes through: the requester's JID (direct) or a proxy's.</summary>
    public Jid StreamHost { get; }

    /// <summary>True when a proxy relays the stream (mediated); false for a direct connection.</summary>
    public bool ViaProxy { get; }

    /// <summary>The connected socket, for zero-copy sends and half-closes.</summary>
    public Socket Socket { get; }

    /// <summary>The connection as a stream (owns the socket).</summary>
    public Stream Stream => _stream;

    /// <summary>Half-closes: tells the peer we will send nothing more (TCP FIN) while still reading.</summary>
    public void ShutdownSend()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException ex)
        {
            throw new BytestreamException(BytestreamErrorKind.Closed, "The SOCKS5 bytestream was reset before it could be closed.", ex);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
