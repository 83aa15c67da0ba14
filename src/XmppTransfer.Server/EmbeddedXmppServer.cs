using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core.Sasl;
using XmppTransfer.Proxy;
using XmppTransfer.Server.Accounts;
using XmppTransfer.Server.Components;
using XmppTransfer.Server.Internal;

namespace XmppTransfer.Server;

/// <summary>
/// A small single-domain XMPP server (RFC 6120/6121) with the XEP-0065 SOCKS5 proxy built in: client connections
/// with STARTTLS (or direct TLS) and SCRAM, a shared roster, routing, external components (XEP-0114), limits and
/// metrics. For LANs, demos and hermetic tests; start it with <see cref="StartAsync"/>.
/// </summary>
public sealed class EmbeddedXmppServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private readonly ConcurrentDictionary<C2sConnection, byte> _clients = new();
    private readonly ConcurrentDictionary<ComponentConnection, byte> _components = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _loops = [];
    private readonly ConnectionLimiter _limiter;
    private readonly X509Certificate2 _certificate;
    private Socks5Proxy? _proxy;
    private Task? _stopTask;

    private EmbeddedXmppServer(ServerOptions options, AccountStore accounts, X509Certificate2 certificate)
    {
        Options = options;
        Accounts = accounts;
        Logger = options.LoggerFactory.CreateLogger<EmbeddedXmppServer>();
        _certificate = certificate;
        CertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true);
        ChannelBinding = options.OfferChannelBinding ? TlsChannelBinding.GetTlsServerEndPoint(certificate) : null;
        CertificateSha256 = ServerCertificate.Fingerprint(certificate);
        Throttle = new AuthThrottle(options);
        _limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerAddress);
        Router = new Router(options, accounts, Metrics, Logger);
    }

    /// <summary>The served domain.</summary>
    public string Domain => Router.Domain;

    /// <summary>The options the server was started with.</summary>
    public ServerOptions Options { get; }

    /// <summary>The accounts (also editable while the server runs).</summary>
    public AccountStore Accounts { get; }

    /// <summary>The bound client (STARTTLS) endpoint, ephemeral port resolved.</summary>
    public IPEndPoint ClientEndPoint { get; private set; } = null!;

    /// <summary>The bound direct-TLS endpoint, or null.</summary>
    public IPEndPoint? DirectTlsEndPoint { get; private set; }

    /// <summary>The bound component (XEP-0114) endpoint, or null.</summary>
    public IPEndPoint? ComponentEndPoint { get; private set; }

    /// <summary>The built-in proxy's JID, or null when it is off.</summary>
    public string? ProxyJid => _proxy is null ? null : Options.ProxyJid;

    /// <summary>The built-in proxy's SOCKS5 endpoint, or null when it is off.</summary>
    public IPEndPoint? ProxyEndPoint => _proxy?.LocalEndpoints[0];

    /// <summary>The host the proxy advertises in its streamhost, or null when it is off.</summary>
    public string? ProxyHost { get; private set; }

    /// <summary>SHA-256 of the TLS certificate, colon-separated hex (for <c>TrustedCertificateSha256</c>).</summary>
    public string CertificateSha256 { get; }

    /// <summary>The TLS certificate in PEM (public part only), e.g. as a CA file for third-party clients.</summary>
    public string CertificatePem => _certificate.ExportCertificatePem();

    /// <summary>Server counters.</summary>
    public ServerMetrics Metrics { get; } = new();

    /// <summary>The built-in proxy's counters, or null when it is off.</summary>
    public ProxyMetrics? ProxyMetrics => _proxy?.Metrics;

    internal ILogger Logger { get; }

    internal Router Router { get; }

    internal AuthThrottle Throttle { get; }

    internal SslStreamCertificateContext CertificateContext { get; }

    internal byte[]? ChannelBinding { get; }

    internal CancellationToken StopToken => _stop.Token;

    /// <summary>
    /// Loads (or creates) the accounts and certificate in <see cref="ServerOptions.DataDirectory"/>, binds every
    /// listener and the proxy, and starts serving. Throws <see cref="SocketException"/> when a port is taken.
    /// </summary>
    public static async Task<EmbeddedXmppServer> StartAsync(ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var accounts = await AccountStore.OpenAsync(
            options.DataDirectory is null ? null : Path.Combine(options.DataDirectory, AccountStore.FileName),
            options.ScramIterations,
            cancellationToken).ConfigureAwait(false);
        var server = new EmbeddedXmppServer(options, accounts, ServerCertificate.Load(options));
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates an account (salted SCRAM credentials only).</summary>
    public Task AddUserAsync(string user, string password, CancellationToken cancellationToken = default) =>
        Accounts.AddAsync(user, password, cancellationToken);

    /// <summary>Writes the server's and the built-in proxy's metrics in the Prometheus text format.</summary>
    public void WritePrometheus(TextWriter writer)
    {
        Metrics.WritePrometheus(writer);
        _proxy?.Metrics.WritePrometheus(writer);
    }

    /// <summary>
    /// Stops accepting, closes every stream with <c>system-shutdown</c>, gives clients up to
    /// <see cref="ServerOptions.ShutdownTimeout"/> to close, then stops the proxy (which drains its relays).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task stop;
        lock (_tasks)
        {
            _stopTask ??= Task.Run(StopCoreAsync, CancellationToken.None);
            stop = _stopTask;
        }

        await stop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
        _certificate.Dispose();
        Accounts.Dispose();
    }

    internal void Track(Task task)
    {
        _tasks.TryAdd(task, 0);
        task.ContinueWith(
            static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _),
            _tasks,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        if (Options.ProxyEnabled)
        {
            _proxy = new Socks5Proxy(Socks5ProxyOptions.Default with
            {
                ListenEndpoints = [Options.ProxyEndpoint],
                DrainTimeout = Options.ProxyDrainTimeout,
                LoggerFactory = Options.LoggerFactory,
                TimeProvider = Options.TimeProvider,
            });
            await _proxy.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = _proxy.LocalEndpoints[0];
            var choice = ProxyHostChoice.For(Options.ProxyExternalHost, bound, Options.ClientEndpoint);
            ProxyHost = choice.Host;
            if (choice.OnlyLocal)
            {
                ServerLog.ProxyAdvertisesLoopback(Logger, ProxyHost);
            }
            var component = new ProxyComponent(Options.ProxyJid.ToLowerInvariant(), Router.Domain, _proxy, ProxyHost, bound.Port,
                Options.ProxyMaxActiveStreamsPerJid, Options.LoggerFactory, Router);
            if (!Router.TryAttach(component))
            {
                throw new InvalidOperationException($"The proxy JID {Options.ProxyJid} cannot be attached.");
            }
        }

        ClientEndPoint = Listen(Options.ClientEndpoint, "c2s", socket => ServeClientAsync(socket, directTls: false));
        if (Options.DirectTlsEndpoint is { } directTls)
        {
            DirectTlsEndPoint = Listen(directTls, "c2s direct TLS", socket => ServeClientAsync(socket, directTls: true));
        }

        if (Options.ComponentEndpoint is { } componentEndpoint)
        {
            ComponentEndPoint = Listen(componentEndpoint, "components", ServeComponentAsync);
        }

        _loops.Add(SweepLoopAsync());
    }

    private IPEndPoint Listen(IPEndPoint endPoint, string kind, Func<Socket, Task> serve)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endPoint);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listeners.Add(listener);
        var local = (IPEndPoint)listener.LocalEndPoint!;
        ServerLog.Listening(Logger, Router.Domain, kind, local);
        _loops.Add(AcceptLoopAsync(listener, serve));
        return local;
    }

    private async Task AcceptLoopAsync(Socket listener, Func<Socket, Task> serve)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                ServerLog.AcceptFailed(Logger, ex);
                continue;
            }

            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            var refusal = _limiter.TryAcquire(address);
            if (refusal is not null)
            {
                Metrics.ConnectionRefused();
                ServerLog.Refused(Logger, address, refusal);
                socket.Dispose();
                continue;
            }

            Metrics.ConnectionAccepted();
            Track(ServeTrackedAsync(socket, address, serve));
        }
    }

    private async Task ServeTrackedAsync(Socket socket, IPAddress address, Func<Socket, Task> serve)
    {
        try
        {
            await Task.Yield();
            await serve(socket).ConfigureAwait(false);
        }
        finally
        {
            _limiter.Release(address);
            Metrics.ConnectionClosed();
        }
    }

    private async Task ServeClientAsync(Socket socket, bool directTls)
    {
        var connection = new C2sConnection(this, socket, directTls);
        _clients.TryAdd(connection, 0);
        try
        {
            var run = connection.RunAsync();
            connection.Completion = run;
            await run.ConfigureAwait(false);
        }
        finally
        {
            _clients.TryRemove(connection, out _);
        }
    }

    private async Task ServeComponentAsync(Socket socket)
    {
        var connection = new ComponentConnection(this, socket);
        _components.TryAdd(connection, 0);
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _components.TryRemove(connection, out _);
        }
    }

    private async Task SweepLoopAsync()
    {
        var shortest = Math.Min(Math.Min(Options.IdleTimeout.Ticks, Options.PingTimeout.Ticks), Options.OutgoingQueueTimeout.Ticks);
        var period = TimeSpan.FromTicks(Math.Clamp(shortest / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 5));
        using var timer = new PeriodicTimer(period, Options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                foreach (var client in _clients.Keys)
                {
                    client.CheckIdle();

                    // A full queue with nothing new routed to it is only noticed here.
                    client.CheckOutgoing();
                }

                foreach (var component in _components.Keys)
                {
                    component.CheckOutgoing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StopCoreAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            ServerLog.Stopping(Logger, _clients.Count);
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
        var closing = new List<Task>();
        foreach (var client in _clients.Keys)
        {
            closing.Add(client.CloseAsync("system-shutdown", "The server is shutting down.", Options.ShutdownTimeout));
        }

        foreach (var component in _components.Keys)
        {
            closing.Add(component.CloseAsync("system-shutdown", "The server is shutting down."));
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
        await Task.WhenAll(_tasks.Keys).ConfigureAwait(false);
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
        }
    }
}
