using System.Net;
using Microsoft.Extensions.Hosting;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Server;

/// <summary>Runs the <see cref="EmbeddedXmppServer"/> under the Generic Host; stopping the host drains it (system-shutdown).</summary>
internal sealed class ServerHostedService(ServerOptions options, IPEndPoint? metricsEndpoint, TextWriter output) : BackgroundService
{
    private EmbeddedXmppServer? _server;
    private MetricsEndpoint? _metrics;

    /// <summary>Completes once the server listens (or faults when it cannot start).</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Binds and starts the server before the host reports "Application started": a port that is taken fails
    /// <c>StartAsync</c> itself, so nothing claims the server started before the error.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _server = await EmbeddedXmppServer.StartAsync(options, cancellationToken);
            if (metricsEndpoint is not null)
            {
                _metrics = new MetricsEndpoint(_server, metricsEndpoint);
                _metrics.Start();
            }

            await PrintAsync(_server);
            Started.TrySetResult();
        }
        catch (Exception ex)
        {
            // The host does not stop a service whose start failed: close what did start, so its ports are free again (and
            // the error can find which port failed).
            if (_metrics is not null)
            {
                await _metrics.DisposeAsync();
                _metrics = null;
            }

            if (_server is not null)
            {
                await _server.DisposeAsync();
                _server = null;
            }

            Started.TrySetException(ex);
            throw;
        }

        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Delay(Timeout.Infinite, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_metrics is not null)
        {
            await _metrics.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
            await _server.DisposeAsync();
        }
    }

    private async Task PrintAsync(EmbeddedXmppServer server)
    {
        var tls = options.RequireTls ? "STARTTLS required" : "STARTTLS offered";
        await output.WriteLineAsync($"xft server: domain {server.Domain}");
        await output.WriteLineAsync($"  clients     {server.ClientEndPoint} ({tls})");
        if (server.DirectTlsEndPoint is { } direct)
        {
            await output.WriteLineAsync($"  direct TLS  {direct}");
        }

        if (server.ComponentEndPoint is { } component)
        {
            await output.WriteLineAsync($"  components  {component} ({string.Join(", ", options.ComponentSecrets.Keys)})");
        }

        await output.WriteLineAsync(server.ProxyJid is null
            ? "  proxy       off"
            : $"  proxy       {server.ProxyJid} on {server.ProxyEndPoint} (advertised as {server.ProxyHost}:{server.ProxyEndPoint!.Port})");
        await output.WriteLineAsync($"  certificate SHA-256 {server.CertificateSha256}");
        await output.WriteLineAsync($"  data        {options.DataDirectory}");
        await output.WriteLineAsync($"  accounts    {server.Accounts.Users.Count} (add one with: xft server add-user NAME)");
        await output.WriteLineAsync($"  file transfer {(options.FileTransferEnabled ? "enabled" : "disabled")}");
        if (_metrics is not null)
        {
            await output.WriteLineAsync($"  metrics     http://{_metrics.LocalEndPoint}/metrics");
        }

        await output.FlushAsync();
    }
}
