using System.Net;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.Server;

/// <summary>Source-generated log messages of the server; event ids 5000–5999. Never logs passwords, SASL data or file content.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(5000, LogLevel.Information, "XMPP server for {Domain} listening for {Kind} on {EndPoint}")]
    public static partial void Listening(ILogger logger, string domain, string kind, IPEndPoint endPoint);

    [LoggerMessage(5001, LogLevel.Warning, "Accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(5002, LogLevel.Debug, "Refused a connection from {RemoteAddress}: {Reason}")]
    public static partial void Refused(ILogger logger, IPAddress remoteAddress, string reason);

    [LoggerMessage(5003, LogLevel.Information, "{Jid} logged in from {RemoteAddress} with {Mechanism} (TLS: {Tls})")]
    public static partial void SessionBound(ILogger logger, string jid, IPAddress remoteAddress, string mechanism, bool tls);

    [LoggerMessage(5004, LogLevel.Information, "{Jid} logged out")]
    public static partial void SessionEnded(ILogger logger, string jid);

    [LoggerMessage(5005, LogLevel.Warning, "Login as {User} from {RemoteAddress} failed with {Mechanism}: {Condition}")]
    public static partial void AuthFailed(ILogger logger, string user, IPAddress remoteAddress, string mechanism, string condition);

    [LoggerMessage(5006, LogLevel.Information, "Closed the stream from {RemoteAddress} with error {Condition}: {Reason}")]
    public static partial void StreamErrorSent(ILogger logger, IPAddress remoteAddress, string condition, string? reason);

    [LoggerMessage(5007, LogLevel.Debug, "Connection from {RemoteAddress} ended: {Reason}")]
    public static partial void ConnectionEnded(ILogger logger, IPAddress remoteAddress, string reason);

    [LoggerMessage(5008, LogLevel.Information, "Component {Component} attached from {RemoteAddress}")]
    public static partial void ComponentAttached(ILogger logger, string component, IPAddress remoteAddress);

    [LoggerMessage(5009, LogLevel.Information, "Component {Component} detached")]
    public static partial void ComponentDetached(ILogger logger, string component);

    [LoggerMessage(5010, LogLevel.Warning, "Component handshake for {Component} from {RemoteAddress} refused: {Reason}")]
    public static partial void ComponentRefused(ILogger logger, string component, IPAddress remoteAddress, string reason);

    [LoggerMessage(5011, LogLevel.Information, "Stopping: closing {Sessions} sessions with system-shutdown")]
    public static partial void Stopping(ILogger logger, int sessions);

    [LoggerMessage(5012, LogLevel.Debug, "Refused {Payload} from {From} to {To}: file transfer is disabled")]
    public static partial void FileTransferRefused(ILogger logger, string payload, string from, string to);

    [LoggerMessage(5013, LogLevel.Error, "Unexpected failure serving {RemoteAddress}")]
    public static partial void ConnectionFailed(ILogger logger, IPAddress remoteAddress, Exception exception);

    [LoggerMessage(5014, LogLevel.Warning, "Login as {User} from {RemoteAddress} refused by the failed-login throttle: too many failures (or attempts in progress) from there or for the account, or the account sealed (docs/server.md)")]
    public static partial void LockedOut(ILogger logger, string user, IPAddress remoteAddress);

    [LoggerMessage(5015, LogLevel.Warning, "{Peer} from {RemoteAddress} has not read its stream for {Seconds:0.#} s with {QueuedBytes} bytes queued: closing it with policy-violation")]
    public static partial void NotReading(ILogger logger, string peer, IPAddress remoteAddress, double seconds, long queuedBytes);

    [LoggerMessage(5016, LogLevel.Warning, "The proxy listens on every address but advertises {Host}: clients on other machines cannot reach it; set Server:Proxy:ExternalIp (xmpp.proxy.externalip) to an address they can (docs/server.md)")]
    public static partial void ProxyAdvertisesLoopback(ILogger logger, string host);
}
