using Microsoft.Extensions.Logging;

namespace XmppTransfer.Cli.Proxy;

/// <summary>Log messages of the <c>xft proxy</c> daemon; event ids 4500–4599 (the proxy's range). No secrets.</summary>
internal static partial class ProxyDaemonLog
{
    [LoggerMessage(4500, LogLevel.Information, "Attached to {Server} as component {Jid}")]
    public static partial void Connected(ILogger logger, string jid, string server);

    [LoggerMessage(4501, LogLevel.Warning, "Connection to the XMPP server failed or ended: {Message}")]
    public static partial void ConnectionLost(ILogger logger, string message);

    [LoggerMessage(4502, LogLevel.Information, "Reconnecting to the XMPP server in {DelaySeconds:0.#} s")]
    public static partial void Reconnecting(ILogger logger, double delaySeconds);

    [LoggerMessage(4503, LogLevel.Information, "Serving Prometheus metrics on http://{EndPoint}/metrics")]
    public static partial void MetricsListening(ILogger logger, System.Net.IPEndPoint endPoint);

    [LoggerMessage(4504, LogLevel.Warning, "The metrics endpoint stopped accepting")]
    public static partial void MetricsFailed(ILogger logger, Exception exception);

    [LoggerMessage(4505, LogLevel.Information, "Stopping: detached from the XMPP server, draining active streams")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(4506, LogLevel.Error, "The XMPP server refused the component (retrying: it accepted the component before): {Message}")]
    public static partial void Refused(ILogger logger, string message);

    [LoggerMessage(4507, LogLevel.Error, "The XMPP server refused the component at start-up (not retrying, exit code 1): {Message}")]
    public static partial void RefusedAtStart(ILogger logger, string message);
}
