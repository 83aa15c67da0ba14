using System.Net;
using System.Net.Sockets;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

public sealed partial class Socks5Proxy
{
    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors or a connection reset before accept: back off a little and go on.
                ProxyLog.AcceptFailed(_logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _timeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Admit(socket);
        }
    }

    /// <summary>
    /// Applies the connection caps. A refused connection is closed at once, before reading anything:
    /// the cheapest answer under a flood, and a SOCKS5 client sees a closed connection as a failed streamhost.
    /// </summary>
    private void Admit(Socket socket)
    {
        Metrics.ConnectionAccepted();
        IPAddress address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        ProxyRefusalReason? refusal = null;
        if (Volatile.Read(ref _stopping))
        {
            refusal = ProxyRefusalReason.ShuttingDown;
        }
        else if (Interlocked.Increment(ref _openConnections) > _options.MaxConnections)
        {
            Interlocked.Decrement(ref _openConnections);
            refusal = ProxyRefusalReason.TotalConnectionLimit;
        }
        else if (!_addressLimiter.TryAcquire(address))
        {
            Interlocked.Decrement(ref _openConnections);
            refusal = ProxyRefusalReason.PerAddressLimit;
        }

        if (refusal is { } reason)
        {
            Metrics.Refused(reason);
            ProxyLog.Refused(_logger, address, reason);
            socket.Dispose();
            return;
        }

        Metrics.ConnectionOpened();
        ConfigureSocket(socket);
        ProxyConnection connection = new(Interlocked.Increment(ref _nextConnectionId), socket, address);
        _connections[connection.Id] = connection;
        Track(_connectionTasks, ServeConnectionAsync(connection));
    }

    private void ConfigureSocket(Socket socket)
    {
        // Nagle off: the relay forwards whatever one read returned at once; bulk reads are large anyway, and
        // small interactive writes must not wait for a delayed ACK (see INTEROP.md on Nagle × delayed ACK).
        socket.NoDelay = true;
        if (_options.SocketBufferSize is { } size)
        {
            socket.SendBufferSize = size;
            socket.ReceiveBufferSize = size;
        }
    }

    /// <summary>
    /// Closes a connection once and releases its share of the caps. <paramref name="reset"/> closes it abortively (RST):
    /// its peer reads a reset rather than an end of stream (see <see cref="ClosePair"/>).
    /// </summary>
    private void CloseConnection(ProxyConnection connection, bool reset = false)
    {
        if (connection.TryMarkClosed())
        {
            // Accounting first, so that once the peer sees the close, the slot is free and the gauges agree.
            _connections.TryRemove(connection.Id, out _);
            _addressLimiter.Release(connection.RemoteAddress);
            Interlocked.Decrement(ref _openConnections);
            Metrics.ConnectionClosed();
            if (reset)
            {
                try
                {
                    connection.Socket.LingerState = new LingerOption(true, 0);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Gone already: its peer has seen whatever ended it.
                }
            }

            connection.Socket.Dispose();
        }
    }
}
