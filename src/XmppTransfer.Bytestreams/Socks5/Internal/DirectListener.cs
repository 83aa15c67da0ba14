using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Core.Transport;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// Our own streamhost (PROTOCOLS.md §4.4): TCP listeners that accept the target's SOCKS5 connection. Only method 00 and a
/// CONNECT whose DST.ADDR is registered for a pending offer are accepted; the first match wins, every other connection is
/// answered REP 02 and closed. Connections still in the handshake are capped, in all
/// (<see cref="Socks5BytestreamOptions.MaxDirectConnections"/>) and per remote address
/// (<see cref="Socks5BytestreamOptions.MaxDirectConnectionsPerAddress"/>, IPv6 per /64): one over a cap is closed at once,
/// unread, so a peer that opens thousands holds neither thousands of sockets nor the room of the real target.
/// </summary>
internal sealed class DirectListener : IAsyncDisposable
{
    private readonly List<Socket> _sockets;
    private readonly ConcurrentDictionary<string, Registration> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<Task, byte> _handshakes = new();
    private readonly TimeSpan _handshakeTimeout;
    private readonly int _socketBufferSize;
    private readonly ILogger _logger;
    private readonly int _maxConnections;
    private readonly int _maxPerAddress;

    /// <summary>Guards the counts of connections in the handshake: <see cref="_open"/>, <see cref="_openByAddress"/>, <see cref="_refusing"/>.</summary>
    private readonly Lock _countGate = new();
    private readonly Dictionary<IPAddress, int> _openByAddress = [];
    private int _open;

    /// <summary>The last connection was refused: later refusals are logged at Debug until one is admitted.</summary>
    private bool _refusing;

    private DirectListener(List<Socket> sockets, Socks5BytestreamOptions options, ILogger logger)
    {
        _sockets = sockets;
        _handshakeTimeout = options.ListenerHandshakeTimeout;
        _socketBufferSize = options.SocketBufferSize;
        _maxConnections = options.MaxDirectConnections;
        _maxPerAddress = options.MaxDirectConnectionsPerAddress;
        _logger = logger;
        EndPoints = [.. sockets.Select(s => (IPEndPoint)s.LocalEndPoint!)];
        foreach (var socket in sockets)
        {
            _acceptLoops.Add(AcceptLoopAsync(socket));
        }
    }

    /// <summary>Where we listen, one per bound address.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    /// <summary>
    /// Binds one listener per address (all on the same port when a range is configured; ephemeral otherwise). An IPv6 "any"
    /// address is bound dual-mode so it also accepts IPv4. Of <paramref name="options"/>: the port range, the handshake
    /// timeout, the socket buffer size and the connection caps.
    /// </summary>
    public static DirectListener Start(IReadOnlyList<IPAddress> addresses, Socks5BytestreamOptions options, ILogger logger)
    {
        var (minPort, maxPort, socketBufferSize) = (options.MinPort, options.MaxPort, options.SocketBufferSize);
        var ports = minPort == 0 ? [0] : Enumerable.Range(minPort, maxPort - minPort + 1).ToArray();
        SocketException? last = null;
        foreach (var port in ports)
        {
            var sockets = new List<Socket>();
            try
            {
                foreach (var address in addresses)
                {
                    var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(socket);
                    if (address.Equals(IPAddress.IPv6Any))
                    {
                        socket.DualMode = true;
                    }

                    Socks5Dialer.Tune(socket, socketBufferSize);
                    socket.Bind(new IPEndPoint(address, port));
                    socket.Listen(16);
                }

                return new DirectListener(sockets, options, logger);
            }
            catch (SocketException ex)
            {
                last = ex;
                foreach (var socket in sockets)
                {
                    socket.Dispose();
                }
            }
        }

        throw new BytestreamException(BytestreamErrorKind.Refused,
            $"Cannot listen for direct SOCKS5 connections on {PortText(minPort, maxPort)}: {last?.SocketErrorCode}.", last);
    }

    /// <summary>"port N" for one port (an ephemeral one is port 0), "ports A-B" for a range.</summary>
    internal static string PortText(int minPort, int maxPort) => minPort == maxPort || minPort == 0 ? $"port {minPort}" : $"ports {minPort}-{maxPort}";

    /// <summary>
    /// Waits for the connection whose DST.ADDR is <paramref name="dstAddr"/>. Dispose the registration when done. A DST.ADDR
    /// registered already is a <see cref="BytestreamException"/> (<see cref="BytestreamErrorKind.Refused"/>).
    /// </summary>
    public Registration Register(string dstAddr)
    {
        var registration = new Registration(this, dstAddr);
        if (!_pending.TryAdd(dstAddr, registration))
        {
            // The manager refuses a second negotiation of the same pair and sid up front, so this takes a SHA-1 collision;
            // still a peer-facing failure (the negotiation ends like any other), not a crash.
            throw new BytestreamException(BytestreamErrorKind.Refused, "A SOCKS5 bytestream with this DST.ADDR is already being negotiated.");
        }

        return registration;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        await Task.WhenAll(_handshakes.Keys).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (Admit(client) is not { } address)
            {
                continue;
            }

            var handshake = HandleAsync(client, address);
            _handshakes.TryAdd(handshake, 0);
            _ = handshake.ContinueWith(t => _handshakes.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Counts a connection just accepted against the caps, and returns the address it counts under; or closes it at once,
    /// before reading anything (the cheapest answer under a flood; a SOCKS5 client sees a failed streamhost), and returns null.
    /// </summary>
    private IPAddress? Admit(Socket client)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        var address = RemoteAddressKey.Of(remote?.Address ?? IPAddress.None);
        string? refusal = null;
        bool first;
        lock (_countGate)
        {
            var fromAddress = _openByAddress.GetValueOrDefault(address);
            if (_open >= _maxConnections)
            {
                refusal = $"{_open} connections are in the SOCKS5 handshake already (at most {_maxConnections})";
            }
            else if (fromAddress >= _maxPerAddress)
            {
                refusal = $"{fromAddress} connections from {address} are in the SOCKS5 handshake already (at most {_maxPerAddress} per address)";
            }
            else
            {
                _open++;
                _openByAddress[address] = fromAddress + 1;
            }

            first = refusal is not null && !_refusing;
            _refusing = refusal is not null;
        }

        if (refusal is null)
        {
            return address;
        }

        if (first)
        {
            BytestreamsLog.S5bListenerOverCap(_logger, remote?.ToString() ?? "?", refusal);
        }
        else
        {
            BytestreamsLog.S5bListenerRefused(_logger, remote?.ToString() ?? "?", refusal);
        }

        client.Dispose();
        return null;
    }

    /// <summary>Gives back what <see cref="Admit"/> counted for a connection whose handshake is over.</summary>
    private void Release(IPAddress address)
    {
        lock (_countGate)
        {
            _open--;
            if (_openByAddress.TryGetValue(address, out var count) && count > 1)
            {
                _openByAddress[address] = count - 1;
            }
            else
            {
                _openByAddress.Remove(address);
            }
        }
    }

    private async Task HandleAsync(Socket client, IPAddress address)
    {
        var remote = client.RemoteEndPoint?.ToString() ?? "?";
        NetworkStream? stream = null;
        var handedOver = false;
        try
        {
            stream = new NetworkStream(client, ownsSocket: true);
            Socks5Dialer.Tune(client, _socketBufferSize);
            var dstAddr = await Socks5ServerHandshake.AcceptAsync(stream, _handshakeTimeout, TimeProvider.System, _stop.Token).ConfigureAwait(false);
            if (!_pending.TryRemove(dstAddr, out var registration))
            {
                // S→C  05 02 00 03 28 <addr> 00 00: not ours, or a later connection for a hash already taken.
                BytestreamsLog.S5bListenerRefused(_logger, remote, "no pending offer with this DST.ADDR (or it was already taken)");
                await Socks5ServerHandshake.SendReplyAsync(stream, Socks5ReplyCode.NotAllowed, dstAddr, _stop.Token).ConfigureAwait(false);
                return;
            }

            try
            {
                // S→C  05 00 00 03 28 <addr> 00 00: success, echoing DST.ADDR and port 0.
                await Socks5ServerHandshake.SendReplyAsync(stream, Socks5ReplyCode.Succeeded, dstAddr, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                registration.Fail(new BytestreamException(BytestreamErrorKind.Closed, "The target's connection to our streamhost broke during the reply.", ex));
                throw;
            }

            handedOver = registration.Complete(stream);
        }
        catch (Exception ex) when (ex is BytestreamException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            BytestreamsLog.S5bListenerRefused(_logger, remote, ex.Message);
        }
        finally
        {
            // Counted out first, so that once the peer sees the close, its place is free.
            Release(address);
            if (!handedOver)
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    client.Dispose();
                }
            }
        }
    }

    /// <summary>One pending offer's wait for its connection.</summary>
    internal sealed class Registration : IDisposable
    {
        private readonly DirectListener _owner;
        private readonly TaskCompletionSource<NetworkStream> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _gate = new();

        /// <summary>The connection <see cref="Connected"/> completed with, set with it under the gate.</summary>
        private NetworkStream? _stream;
        private bool _taken;
        private bool _disposed;

        public Registration(DirectListener owner, string dstAddr)
        {
            _owner = owner;
            DstAddr = dstAddr;
        }

        public string DstAddr { get; }

        /// <summary>Completes with the connection that passed the handshake.</summary>
        public Task<NetworkStream> Connected => _connected.Task;

        /// <summary>Hands the connection over to the caller (it then owns and disposes it).</summary>
        public NetworkStream Take()
        {
            lock (_gate)
            {
                if (_taken || _disposed || _stream is null)
                {
                    throw new InvalidOperationException("The direct connection is not available.");
                }

                _taken = true;
                return _stream;
            }
        }

        public void Dispose()
        {
            _owner._pending.TryRemoveExact(DstAddr, this);
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                if (!_taken)
                {
                    _stream?.Dispose();
                }

                _connected.TrySetCanceled();
            }
        }

        internal bool Complete(NetworkStream stream)
        {
            lock (_gate)
            {
                if (_disposed || !_connected.TrySetResult(stream))
                {
                    return false;
                }

                _stream = stream;
                return true;
            }
        }

        internal void Fail(Exception exception) => _connected.TrySetException(exception);
    }
}
