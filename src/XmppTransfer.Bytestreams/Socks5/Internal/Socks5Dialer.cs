using System.Net;
using System.Net.Sockets;
using XmppTransfer.Bytestreams.Socks5.Wire;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>Opens a TCP connection to a streamhost and runs the SOCKS5 client handshake, all within one timeout.</summary>
internal static class Socks5Dialer
{
    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> and negotiates <paramref name="dstAddr"/>. The TCP connect and the
    /// handshake together get <paramref name="timeout"/> (Timeout <see cref="BytestreamException"/>); a refused or reset connection is
    /// Closed/Refused; the caller's cancellation stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<NetworkStream> ConnectAsync(
        string host, int port, string dstAddr, TimeSpan timeout, int socketBufferSize, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        NetworkStream? stream = null;
        try
        {
            Tune(socket, socketBufferSize);
            if (IPAddress.TryParse(host, out var address))
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), timeoutSource.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(host, port, timeoutSource.Token).ConfigureAwait(false);
            }

            stream = new NetworkStream(socket, ownsSocket: true);
            await Socks5ClientHandshake.ConnectAsync(stream, dstAddr, Timeout.InfiniteTimeSpan, timeoutSource.Token).ConfigureAwait(false);
            var connected = stream;
            stream = null;
            return connected;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OperationCanceledException ex) when (timeoutSource.IsCancellationRequested)
        {
            throw new BytestreamException(BytestreamErrorKind.Timeout,
                $"{host}:{port} did not complete the TCP connect and SOCKS5 handshake within {timeout.TotalMilliseconds:0} ms.", ex);
        }
        catch (SocketException ex)
        {
            throw new BytestreamException(
                ex.SocketErrorCode == SocketError.ConnectionRefused ? BytestreamErrorKind.Refused : BytestreamErrorKind.Closed,
                $"{host}:{port}: {ex.SocketErrorCode}.", ex);
        }
        catch (BytestreamException ex)
        {
            throw new BytestreamException(ex.ErrorKind, $"{host}:{port}: {ex.Message}", ex);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            else if (!socket.Connected)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Applies the configured kernel buffer sizes (0 keeps the system's autotuning).</summary>
    public static void Tune(Socket socket, int socketBufferSize)
    {
        if (socketBufferSize > 0)
        {
            socket.SendBufferSize = socketBufferSize;
            socket.ReceiveBufferSize = socketBufferSize;
        }
    }
}
