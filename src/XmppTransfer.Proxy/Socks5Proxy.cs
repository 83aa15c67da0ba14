using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

/// <summary>
/// The SOCKS5 side of a XEP-0065 streamhost: accepts connections, runs the handshake, pairs the two legs
/// of a stream by DST.ADDR (first = Target, second = Requester, any further one gets REP 02), and relays
/// once the XMPP face calls <see cref="TryActivate(string)"/>. Bytes a leg sends before activation are dropped.
/// </summary>
public sealed partial class Socks5Proxy : IAsyncDisposable
{
    private readonly Socks5ProxyOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly AddressLimiter _addressLimiter;
    private readonly TokenBucket? _totalShaper;
    private readonly Lock _pairsLock = new();
    private readonly Dictionary<string, StreamPair> _pairs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, ProxyConnection> _connections = new();
    private readonly ConcurrentDictionary<Task, byte> _connectionTasks = new();
    private readonly ConcurrentDictionary<Task, byte> _relayTasks = new();
    private readonly CancellationTokenSource _acceptCancellation = new();
    private readonly CancellationTokenSource _handshakeCancellation = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private IReadOnlyList<IPEndPoint> _localEndpoints = [];
    private long _nextConnectionId;
    private int _openConnections;
    private int _started;
    private bool _stopping;
    private Task? _stopTask;

    public Socks5Proxy(Socks5ProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<Socks5Proxy>();
        _timeProvider = options.TimeProvider;
        _addressLimiter = new AddressLimiter(options.MaxConnectionsPerAddress);
        if (options.BytesPerSecondTotal is { } total)
        {
            _totalShaper = new TokenBucket(total, _timeProvider);
        }
    }

    /// <summary>Counters and gauges; <see cref="ProxyMetrics.WritePrometheus"/> renders them.</summary>
    public ProxyMetrics Metrics { get; } = new();

    /// <summary>The bound endpoints (ephemeral ports resolved) after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _localEndpoints;

    /// <summary>
    /// Binds every listen endpoint and starts accepting. An IPv6 endpoint that cannot be bound is skipped
    /// with a warning; failing to bind any endpoint throws <see cref="SocketException"/>.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The proxy was already started.");
        }

        List<IPEndPoint> bound = [];
        foreach (IPEndPoint endPoint in _options.ListenEndpoints)
        {
            Socket listener = new(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    // Separate IPv4 and IPv6 sockets, so 0.0.0.0:p and [::]:p can both be bound.
                    listener.DualMode = false;
                }

                listener.Bind(endPoint);
                listener.Listen(_options.ListenBacklog);
            }
            catch (SocketException ex) when (endPoint.AddressFamily == AddressFamily.InterNetworkV6 || bound.Count > 0)
            {
                listener.Dispose();
                ProxyLog.ListenFailed(_logger, endPoint, ex);
                continue;
            }
            catch
            {
                listener.Dispose();
                CloseListeners();
                throw;
            }

            _listeners.Add(listener);
            IPEndPoint local = (IPEndPoint)listener.LocalEndPoint!;
            bound.Add(local);
            ProxyLog.Listening(_logger, local);
        }

        if (bound.Count == 0)
        {
            throw new SocketException((int)SocketError.AddressNotAvailable);
        }

        _localEndpoints = bound;
        foreach (Socket listener in _listeners)
        {
            _acceptLoops.Add(AcceptLoopAsync(listener, _acceptCancellation.Token));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Starts relaying the stream with this DST.ADDR. Call it only after verifying that the activation IQ
    /// comes from the Requester, i.e. after recomputing the hash from sid, the stanza's from and the
    /// activate JID (<see cref="Socks5Address.Compute"/>). Whatever either leg sent before this call is dropped.
    /// </summary>
    public ActivationResult TryActivate(string dstAddr) => TryActivateTracked(dstAddr, null);

    /// <summary>
    /// Like <see cref="TryActivate(string)"/>; when activation succeeds, <paramref name="closed"/> is called once
    /// when the stream closes, with the reason (the XMPP face uses it for per-JID stream caps). It runs on
    /// the closing thread and must be quick and must not throw.
    /// </summary>
    public ActivationResult TryActivateTracked(string dstAddr, Action<ProxyCloseReason>? closed)
    {
        if (!Socks5Address.IsValid(dstAddr))
        {
            return ActivationResult.NotFound;
        }

        string key = dstAddr.ToLowerInvariant();
        StreamPair? pair;
        lock (_pairsLock)
        {
            if (!_pairs.TryGetValue(key, out pair) || pair.State == PairState.Closed)
            {
                return ActivationResult.NotFound;
            }

            if (pair.State == PairState.Active)
            {
                return ActivationResult.AlreadyActive;
            }

            if (pair.State == PairState.OneLeg || pair.Requester is null)
            {
                return ActivationResult.OneLegOnly;
            }

            // Everything in the kernel buffers now was sent before activation (a conforming client waits
            // for the IQ result, which is sent after we return): count it, and the relay drops it.
            pair.Target.BytesToDiscard = PendingBytes(pair.Target);
            pair.Requester.BytesToDiscard = PendingBytes(pair.Requester);
            pair.State = PairState.Active;
            pair.Closed = closed;
            pair.Touch(_timeProvider.GetTimestamp());
            pair.Timer?.Change(_options.IdleTimeout, Timeout.InfiniteTimeSpan);
            if (_options.BytesPerSecondPerStream is { } rate)
            {
                pair.Shaper = new TokenBucket(rate, _timeProvider);
            }
        }

        Metrics.PairActivated();
        ProxyLog.Activated(_logger, pair.DstAddr);
        pair.Monitoring.Cancel();
        Track(_relayTasks, RelayAsync(pair));
        return ActivationResult.Activated;
    }

    /// <summary>
    /// Stops accepting, closes connections that are not relaying, lets active relays finish for up to
    /// <see cref="Socks5ProxyOptions.DrainTimeout"/>, then closes the rest. Cancelling the token ends the
    /// drain at once; the shutdown still completes before <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task stop;
        lock (_pairsLock)
        {
            _stopTask ??= Task.Run(() => StopCoreAsync(cancellationToken), CancellationToken.None);
            stop = _stopTask;
        }

        await stop.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _acceptCancellation.Dispose();
            _handshakeCancellation.Dispose();
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await _acceptCancellation.CancelAsync().ConfigureAwait(false);
        CloseListeners();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);

        List<StreamPair> idle = [];
        lock (_pairsLock)
        {
            _stopping = true;
            foreach (StreamPair pair in _pairs.Values)
            {
                if (pair.State != PairState.Active)
                {
                    idle.Add(pair);
                }
            }
        }

        ProxyLog.Stopping(_logger, Metrics.ActivePairs);
        await _handshakeCancellation.CancelAsync().ConfigureAwait(false);
        foreach (StreamPair pair in idle)
        {
            ClosePair(pair, ProxyCloseReason.Shutdown);
        }

        await Task.WhenAll(_connectionTasks.Keys).ConfigureAwait(false);

        try
        {
            await Task.WhenAll(_relayTasks.Keys).WaitAsync(_options.DrainTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            ProxyLog.DrainDeadline(_logger, Metrics.ActivePairs);
        }

        List<StreamPair> remaining;
        lock (_pairsLock)
        {
            remaining = [.. _pairs.Values];
        }

        foreach (StreamPair pair in remaining)
        {
            ClosePair(pair, ProxyCloseReason.Shutdown);
        }

        foreach (ProxyConnection connection in _connections.Values)
        {
            CloseConnection(connection);
        }

        await Task.WhenAll(_relayTasks.Keys).ConfigureAwait(false);
        await Task.WhenAll(_connectionTasks.Keys).ConfigureAwait(false);
    }

    private void CloseListeners()
    {
        foreach (Socket listener in _listeners)
        {
            listener.Dispose();
        }
    }

    private static long PendingBytes(ProxyConnection connection)
    {
        try
        {
            return connection.Socket.Available;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }

    private static void Track(ConcurrentDictionary<Task, byte> tasks, Task task)
    {
        tasks.TryAdd(task, 0);
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), tasks,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
