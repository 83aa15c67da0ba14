using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Proxy;

namespace XmppTransfer.Cli.Proxy;

/// <summary>
/// <c>xft proxy</c> under the Generic Host: the SOCKS5 listener starts first and keeps running; the component
/// connection to the XMPP server is kept up with doubling, capped backoff (pending, unactivated pairs meanwhile just
/// reach their deadline: no activation can arrive). A refusal retrying cannot fix (<see cref="ComponentRefusal"/>) ends
/// the daemon when the server has not accepted the component yet in this run, so that a wrong name or secret fails the
/// service rather than leaving it looking healthy; after an accepted run it is retried like any failure (the server may
/// be restarting with its configuration half-loaded), logged as an error each time. On stop: detach from the server
/// first (no new activations), then drain the active relays for up to the drain timeout.
/// </summary>
internal sealed class ProxyDaemon : BackgroundService
{
    private readonly ProxySettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ProxyEvents _events;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime _lifetime;
    private Socks5Proxy? _proxy;
    private BytestreamProxyExtension? _service;
    private MetricsServer? _metrics;
    private long _reconnects;
    private int _connected;
    private bool _attachedOnce;

    public ProxyDaemon(ProxySettings settings, ILoggerFactory loggerFactory, ProxyEvents events, TimeProvider timeProvider, IHostApplicationLifetime lifetime)
    {
        _lifetime = lifetime;
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ProxyDaemon>();
        _events = events;
        _timeProvider = timeProvider;
    }

    /// <summary>True when the daemon stopped itself because the server refused the component at start-up (exit code 1).</summary>
    public bool RefusedAtStart { get; private set; }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _proxy = new Socks5Proxy(_settings.Socks5 with { LoggerFactory = _loggerFactory, TimeProvider = _timeProvider });
        await _proxy.StartAsync(cancellationToken).ConfigureAwait(false);
        _service = new BytestreamProxyExtension(_proxy, _settings.Service with { LoggerFactory = _loggerFactory });
        if (_settings.MetricsEndpoint is { } endPoint)
        {
            _metrics = new MetricsServer(endPoint, RenderMetrics, _logger);
            ProxyDaemonLog.MetricsListening(_logger, _metrics.LocalEndPoint);
        }

        _events.Write("listening", new
        {
            socks5 = _proxy.LocalEndpoints.Select(e => e.ToString()).ToArray(),
            metrics = _metrics?.LocalEndPoint.ToString(),
        });
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        ProxyDaemonLog.Stopping(_logger);
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_proxy is not null)
            {
                try
                {
                    await _proxy.StopAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The host's shutdown timeout cut the drain short; the proxy has closed everything anyway.
                }

                await _proxy.DisposeAsync().ConfigureAwait(false);
            }

            if (_metrics is not null)
            {
                await _metrics.DisposeAsync().ConfigureAwait(false);
            }

            _events.Write("stopped", new { relayed_bytes = _proxy?.Metrics.BytesRelayed ?? 0 });
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ReconnectBackoff backoff = new(_settings.ReconnectMinDelay, _settings.ReconnectMaxDelay);
        XmppComponentOptions componentOptions = _settings.Component with { LoggerFactory = _loggerFactory };
        string server = componentOptions.Host + ":" + componentOptions.Port.ToString(CultureInfo.InvariantCulture);
        while (!stoppingToken.IsCancellationRequested)
        {
            XmppComponent component = new(componentOptions);
            component.AddExtension(_service!);
            try
            {
                await component.ConnectAsync(stoppingToken).ConfigureAwait(false);
                backoff.Reset();
                _attachedOnce = true;
                Volatile.Write(ref _connected, 1);
                ProxyDaemonLog.Connected(_logger, componentOptions.Jid.ToString(), server);
                _events.Write("connected", new { jid = componentOptions.Jid.ToString(), server });
                await component.Completion.WaitAsync(stoppingToken).ConfigureAwait(false);
                ProxyDaemonLog.ConnectionLost(_logger, "the server closed the stream");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (XmppConnectionException ex) when (ComponentRefusal.IsPermanent(ex))
            {
                if (!_attachedOnce)
                {
                    ProxyDaemonLog.RefusedAtStart(_logger, ex.Message);
                    RefusedAtStart = true;
                    _lifetime.StopApplication();
                    break;
                }

                ProxyDaemonLog.Refused(_logger, ex.Message);
            }
            catch (Exception ex) when (ex is XmppException or IOException or SocketException)
            {
                // The message never holds the secret (XmppComponent reports only the name and the condition).
                ProxyDaemonLog.ConnectionLost(_logger, ex.Message);
            }
            finally
            {
                if (Interlocked.Exchange(ref _connected, 0) == 1)
                {
                    _events.Write("disconnected");
                }

                await component.DisposeAsync().ConfigureAwait(false);
            }

            TimeSpan delay = backoff.Next();
            Interlocked.Increment(ref _reconnects);
            ProxyDaemonLog.Reconnecting(_logger, delay.TotalSeconds);
            try
            {
                await Task.Delay(delay, _timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private string RenderMetrics()
    {
        using StringWriter writer = new(CultureInfo.InvariantCulture);
        _proxy!.Metrics.WritePrometheus(writer);
        writer.Write("# HELP xmpptransfer_proxy_component_connected Whether the component is attached to the XMPP server (1) or not (0).\n");
        writer.Write("# TYPE xmpptransfer_proxy_component_connected gauge\n");
        writer.Write(string.Create(CultureInfo.InvariantCulture, $"xmpptransfer_proxy_component_connected {Volatile.Read(ref _connected)}\n"));
        writer.Write("# HELP xmpptransfer_proxy_component_reconnects_total Reconnection attempts to the XMPP server.\n");
        writer.Write("# TYPE xmpptransfer_proxy_component_reconnects_total counter\n");
        writer.Write(string.Create(CultureInfo.InvariantCulture, $"xmpptransfer_proxy_component_reconnects_total {Interlocked.Read(ref _reconnects)}\n"));
        return writer.ToString();
    }
}
