using System.Net.Sockets;
using XmppTransfer.Bytestreams;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

public sealed partial class Socks5Proxy
{
    private static readonly byte[] s_peekBuffer = new byte[1];

    /// <summary>Handshake, pairing, success reply, then watching the leg until activation.</summary>
    private async Task ServeConnectionAsync(ProxyConnection connection)
    {
        await Task.Yield(); // keep the accept loop going
        StreamPair? pair = null;
        try
        {
            using NetworkStream stream = new(connection.Socket, ownsSocket: false);
            string dstAddr;
            try
            {
                dstAddr = await Socks5ServerHandshake.AcceptAsync(stream, _options.HandshakeTimeout, _timeProvider, _handshakeCancellation.Token)
                    .ConfigureAwait(false);
            }
            catch (BytestreamException ex)
            {
                Metrics.HandshakeFailed();
                ProxyLog.HandshakeFailed(_logger, connection.Id, connection.RemoteAddress, ex.Message);
                return;
            }

            pair = Register(connection, dstAddr, out bool isTarget);
            if (pair is null)
            {
                await Socks5ServerHandshake.SendReplyAsync(stream, Socks5ReplyCode.NotAllowed, dstAddr, _handshakeCancellation.Token)
                    .ConfigureAwait(false);
                return;
            }

            ProxyLog.LegRegistered(_logger, connection.Id, connection.RemoteAddress, isTarget ? "target" : "requester", pair.DstAddr);
            try
            {
                using CancellationTokenSource replyDeadline = new(_options.HandshakeTimeout, _timeProvider);
                using CancellationTokenSource replyTimeout = CancellationTokenSource.CreateLinkedTokenSource(pair.Lifetime.Token, replyDeadline.Token);
                await Socks5ServerHandshake.SendReplyAsync(stream, Socks5ReplyCode.Succeeded, pair.DstAddr, replyTimeout.Token)
                    .ConfigureAwait(false);
                connection.ReplySent.TrySetResult();
            }
            catch (Exception)
            {
                connection.ReplySent.TrySetCanceled(); // not an exception: nobody may be waiting to observe it
                throw;
            }

            await MonitorUntilActivatedAsync(pair, connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (pair is not null)
            {
                ClosePair(pair, ProxyCloseReason.Error);
            }
        }
        catch (Exception ex)
        {
            ProxyLog.ConnectionFailed(_logger, connection.Id, ex);
            if (pair is not null)
            {
                ClosePair(pair, ProxyCloseReason.Error);
            }
        }
        finally
        {
            if (pair is null)
            {
                // Not handed over to a pair (failed handshake or refused): this task owns the socket.
                CloseConnection(connection);
            }
        }
    }

    /// <summary>First connection for a DST.ADDR becomes the Target leg, the second the Requester leg; null = refuse.</summary>
    private StreamPair? Register(ProxyConnection connection, string dstAddr, out bool isTarget)
    {
        isTarget = false;
        lock (_pairsLock)
        {
            if (_stopping)
            {
                Metrics.Refused(ProxyRefusalReason.ShuttingDown);
                return null;
            }

            if (!_pairs.TryGetValue(dstAddr, out StreamPair? pair))
            {
                pair = new StreamPair(dstAddr, connection);
                pair.Timer = _timeProvider.CreateTimer(static state => ((TimerState)state!).Fire(), new TimerState(this, pair),
                    _options.UnpairedTimeout, Timeout.InfiniteTimeSpan);
                _pairs.Add(dstAddr, pair);
                Metrics.PairCreated();
                isTarget = true;
                return pair;
            }

            if (pair.State == PairState.OneLeg && pair.Requester is null)
            {
                pair.Requester = connection;
                pair.State = PairState.Paired;
                pair.Timer?.Change(_options.UnactivatedTimeout, Timeout.InfiniteTimeSpan);
                return pair;
            }
        }

        Metrics.Refused(ProxyRefusalReason.StreamAlreadyPaired);
        ProxyLog.AlreadyPaired(_logger, connection.Id, connection.RemoteAddress, dstAddr);
        return null;
    }

    /// <summary>
    /// Until activation nothing is consumed: a one-byte MSG_PEEK waits until the leg is readable. 0 means the peer
    /// closed, and the stream goes. 1 means the peer sent data before activation: it stays in the kernel buffer
    /// (bounded by TCP flow control) and the relay drops it at activation; the unactivated deadline still applies.
    /// (A zero-byte receive was used before; under load it sometimes completed with nothing pending on a live
    /// socket, which closed healthy pairs: seen with 2,000 concurrent pairs.)
    /// </summary>
    private async Task MonitorUntilActivatedAsync(StreamPair pair, ProxyConnection connection)
    {
        int peeked;
        try
        {
            // The peeked byte is never looked at, so every leg shares one buffer.
            peeked = await connection.Socket.ReceiveAsync(s_peekBuffer, SocketFlags.Peek, pair.Monitoring.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (pair.Monitoring.IsCancellationRequested)
        {
            return;
        }

        lock (_pairsLock)
        {
            if (pair.State is PairState.Active or PairState.Closed)
            {
                return;
            }
        }

        if (peeked > 0)
        {
            ProxyLog.EarlyData(_logger, connection.Id, pair.DstAddr);
            return;
        }

        ClosePair(pair, ProxyCloseReason.PeerLeftBeforeActivation);
    }

    /// <summary>
    /// Closes both legs once, removes the pair, counts the reason. A pair never activated is closed with a reset (RST), not
    /// an end of stream: after activation an end of stream is a leg's own close passed on (half-close), which a target
    /// reading an empty file takes as the sender's close; one that was never activated carried nothing, and must not
    /// read like that (XEP-0065: data flows only after activation).
    /// </summary>
    private void ClosePair(StreamPair pair, ProxyCloseReason reason)
    {
        bool wasActive;
        Action<ProxyCloseReason>? closed;
        lock (_pairsLock)
        {
            if (pair.State == PairState.Closed)
            {
                return;
            }

            wasActive = pair.State == PairState.Active;
            pair.State = PairState.Closed;
            closed = pair.Closed;
            pair.Closed = null;
            if (_pairs.TryGetValue(pair.DstAddr, out StreamPair? current) && ReferenceEquals(current, pair))
            {
                _pairs.Remove(pair.DstAddr);
            }
        }

        Metrics.PairClosed(wasActive, reason);
        closed?.Invoke(reason); // before the log line: tests and operators see consistent counts from then on
        ProxyLog.StreamClosed(_logger, pair.DstAddr, reason, pair.BytesRelayed);
        pair.Dispose();
        pair.Monitoring.Cancel();
        pair.Lifetime.Cancel();
        CloseConnection(pair.Target, reset: !wasActive);
        if (pair.Requester is { } requester)
        {
            CloseConnection(requester, reset: !wasActive);
        }
    }

    /// <summary>The pair's one timer: unpaired deadline, then unactivated deadline, then the idle check.</summary>
    private void OnPairTimer(StreamPair pair)
    {
        ProxyCloseReason reason;
        lock (_pairsLock)
        {
            switch (pair.State)
            {
                case PairState.OneLeg:
                    reason = ProxyCloseReason.UnpairedTimeout;
                    break;
                case PairState.Paired:
                    reason = ProxyCloseReason.UnactivatedTimeout;
                    break;
                case PairState.Active:
                    TimeSpan idle = _timeProvider.GetElapsedTime(pair.LastActivity);
                    if (idle < _options.IdleTimeout)
                    {
                        pair.Timer?.Change(_options.IdleTimeout - idle, Timeout.InfiniteTimeSpan);
                        return;
                    }

                    reason = ProxyCloseReason.IdleTimeout;
                    break;
                default:
                    return;
            }
        }

        ClosePair(pair, reason);
    }

    private sealed class TimerState(Socks5Proxy proxy, StreamPair pair)
    {
        public void Fire() => proxy.OnPairTimer(pair);
    }
}
