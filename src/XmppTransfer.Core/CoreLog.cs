using Microsoft.Extensions.Logging;

namespace XmppTransfer.Core;

/// <summary>Log messages of the core (event ids 1000-1999).</summary>
internal static partial class CoreLog
{
    [LoggerMessage(1000, LogLevel.Information, "Connecting to {Host}:{Port} (direct TLS: {DirectTls})")]
    public static partial void Connecting(ILogger logger, string host, int port, bool directTls);

    [LoggerMessage(1001, LogLevel.Information, "Connected and bound as {Jid} (TLS: {Tls}, SASL: {Mechanism})")]
    public static partial void Bound(ILogger logger, string jid, bool tls, string mechanism);

    [LoggerMessage(1002, LogLevel.Warning, "The stream ended: {Reason}")]
    public static partial void StreamEnded(ILogger logger, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "An IQ handler for {Payload} failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string payload);

    [LoggerMessage(1004, LogLevel.Debug, "Answered an unhandled IQ {Type} for {Payload} with service-unavailable")]
    public static partial void UnhandledIq(ILogger logger, string type, string payload);

    [LoggerMessage(1005, LogLevel.Debug, "Dropped a response with id {Id} from {From}: it matches no request we sent to that address")]
    public static partial void UnmatchedResponse(ILogger logger, string id, string from);

    [LoggerMessage(1006, LogLevel.Warning, "A stanza listener failed")]
    public static partial void ListenerFailed(ILogger logger, Exception exception);

    [LoggerMessage(1007, LogLevel.Information, "Component {Jid} authenticated with {Host}:{Port}")]
    public static partial void ComponentReady(ILogger logger, string jid, string host, int port);

    [LoggerMessage(1008, LogLevel.Trace, "Connection attempt to {Host}:{Port} failed: {Reason}")]
    public static partial void EndpointFailed(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1009, LogLevel.Warning, "Dropped the answer {Id} to {To}: the outgoing queue is full (the server is not reading what we send)")]
    public static partial void ReplyDropped(ILogger logger, string id, string to);
}
