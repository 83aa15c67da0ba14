using System.Buffers;
using System.Net.Sockets;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

public sealed partial class Socks5Proxy
{
    /// <summary>Both directions at once; the stream closes when both reached end of stream, or on the first failure.</summary>
    private async Task RelayAsync(StreamPair pair)
    {
        await Task.Yield(); // TryActivate is synchronous: do not relay on the caller's thread
        ProxyConnection requester = pair.Requester!;
        CancellationToken cancellationToken = pair.Lifetime.Token;
        try
        {
            // Activation may come while a success reply is still being written; never interleave with it.
            await Task.WhenAll(pair.Target.ReplySent.Task, requester.ReplySent.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            ClosePair(pair, ProxyCloseReason.Error);
            return;
        }

        Task upstream = PumpAsync(pair, requester, pair.Target, cancellationToken);
        Task downstream = PumpAsync(pair, pair.Target, requester, cancellationToken);
        await Task.WhenAll(upstream, downstream).ConfigureAwait(false);
        ClosePair(pair, ProxyCloseReason.Completed);
    }

    /// <summary>
    /// Copies one direction through one pooled buffer (no allocation per read). A user-space copy on purpose:
    /// splice(2) through a pipe measured within noise of it (1 GiB on loopback, medians 1,562 vs 1,470 MiB/s
    /// against a 256 KiB copy) and needs a blocking wait for writability, which .NET sockets do not offer
    /// asynchronously. At end of stream the other
    /// leg is half-closed (Shutdown(Send)) so its peer reads EOF while the opposite direction keeps going.
    /// Never throws: failures close the pair.
    /// </summary>
    private async Task PumpAsync(StreamPair pair, ProxyConnection from, ProxyConnection to, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_options.RelayBufferSize);
        try
        {
            Memory<byte> memory = buffer.AsMemory(0, _options.RelayBufferSize);
            long discard = from.BytesToDiscard;
            long? cap = _options.MaxBytesPerStream;
            while (true)
            {
                int received = await from.Socket.ReceiveAsync(memory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (received == 0)
                {
                    HalfClose(to);
                    return;
                }

                pair.Touch(_timeProvider.GetTimestamp());
                int offset = 0;
                if (discard > 0)
                {
                    offset = (int)Math.Min(discard, received);
                    discard -= offset;
                    Metrics.Discarded(offset);
                    if (offset == received)
                    {
                        continue;
                    }
                }

                int count = received - offset;
                bool capReached = false;
                if (cap is { } limit)
                {
                    long total = pair.AddBytes(count);
                    if (total > limit)
                    {
                        count -= (int)Math.Min(count, total - limit);
                        capReached = true;
                    }
                }
                else
                {
                    pair.AddBytes(count);
                }

                if (count > 0)
                {
                    if (pair.Shaper is { } shaper)
                    {
                        await shaper.TakeAsync(count, cancellationToken).ConfigureAwait(false);
                    }

                    if (_totalShaper is { } totalShaper)
                    {
                        await totalShaper.TakeAsync(count, cancellationToken).ConfigureAwait(false);
                    }

                    await SendAllAsync(to.Socket, buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false);
                    Metrics.Relayed(count);
                }

                if (capReached)
                {
                    ClosePair(pair, ProxyCloseReason.ByteLimit);
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            if (!pair.Lifetime.IsCancellationRequested)
            {
                ProxyLog.RelayFailed(_logger, pair.DstAddr, ex);
            }

            ClosePair(pair, ProxyCloseReason.Error);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void HalfClose(ProxyConnection connection)
    {
        try
        {
            connection.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // That leg is gone already; its own direction reports it.
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }
}
