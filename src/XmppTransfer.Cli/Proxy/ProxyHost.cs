using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Proxy;

/// <summary>Builds and runs the Generic Host of <c>xft proxy</c>.</summary>
internal static class ProxyHost
{
    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> (SIGTERM, Ctrl-C) fires; then stops and drains. False when it
    /// stopped by itself instead: the server refused the component at start-up. The <c>--json</c> events go to
    /// <paramref name="events"/> (stdout for <c>xft proxy</c>).
    /// </summary>
    public static async Task<bool> RunAsync(ProxySettings settings, bool verbose, TextWriter events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        CliLogging.ConfigureHost(builder.Logging, settings.Logging, verbose, "yyyy-MM-ddTHH:mm:ss.fff ");
        SignalFreeLifetime.Use(builder.Services);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(new ProxyEvents(settings.Json, events));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ProxyDaemon>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ProxyDaemon>());
        // Drain first (DrainTimeout), then a margin to close the component stream and the sockets.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Socks5.DrainTimeout + TimeSpan.FromSeconds(10));
        using IHost host = builder.Build();
        // Resolved first: RunAsync disposes the host's services when it returns.
        ProxyDaemon daemon = host.Services.GetRequiredService<ProxyDaemon>();
        await host.RunAsync(cancellationToken);
        return !daemon.RefusedAtStart;
    }
}
