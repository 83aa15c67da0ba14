using System.Net;
using Microsoft.Extensions.Configuration;
using XmppTransfer.Core.Component;
using XmppTransfer.Proxy;

namespace XmppTransfer.Cli.Proxy;

/// <summary>Everything <c>xft proxy</c> runs with, mapped from configuration by <see cref="ProxyConfiguration"/>.</summary>
internal sealed record ProxySettings
{
    /// <summary>The component connection (its logger factory is set by the daemon).</summary>
    public required XmppComponentOptions Component { get; init; }

    public required Socks5ProxyOptions Socks5 { get; init; }

    public required BytestreamProxyOptions Service { get; init; }

    /// <summary>Where to serve Prometheus text on <c>/metrics</c>; null serves nothing.</summary>
    public IPEndPoint? MetricsEndpoint { get; init; }

    /// <summary>First delay before reconnecting to the XMPP server. Default 1 s.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the doubling reconnect delay. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Print JSON event lines (listening, connected, disconnected, stopped) on stdout.</summary>
    public bool Json { get; init; }

    /// <summary>The <c>Logging</c> section of the same configuration (levels per category); empty when nothing is set.</summary>
    public IConfiguration Logging { get; init; } = new ConfigurationBuilder().Build();
}
