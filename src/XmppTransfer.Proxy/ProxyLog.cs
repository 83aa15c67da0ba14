using System.Net;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.Proxy;

/// <summary>Source-generated log messages of the proxy; event ids 4000–4999. Never logs file content.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(4000, LogLevel.Information, "SOCKS5 proxy listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(4001, LogLevel.Warning, "SOCKS5 proxy cannot listen on {EndPoint}; skipping it")]
    public static partial void ListenFailed(ILogger logger, IPEndPoint endPoint, Exception exception);

    [LoggerMessage(4002, LogLevel.Warning, "Accepting a SOCKS5 connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(4003, LogLevel.Debug, "Refused connection from {RemoteAddress}: {Reason}")]
    public static partial void Refused(ILogger logger, IPAddress remoteAddress, ProxyRefusalReason reason);

    [LoggerMessage(4004, LogLevel.Debug, "SOCKS5 handshake with connection {ConnectionId} from {RemoteAddress} failed: {Message}")]
    public static partial void HandshakeFailed(ILogger logger, long connectionId, IPAddress remoteAddress, string message);

    [LoggerMessage(4005, LogLevel.Debug, "Connection {ConnectionId} from {RemoteAddress} is the {Role} leg of stream {DstAddr}")]
    public static partial void LegRegistered(ILogger logger, long connectionId, IPAddress remoteAddress, string role, string dstAddr);

    [LoggerMessage(4006, LogLevel.Warning, "Connection {ConnectionId} from {RemoteAddress} asked for stream {DstAddr}, which already has two legs; refused with REP 02")]
    public static partial void AlreadyPaired(ILogger logger, long connectionId, IPAddress remoteAddress, string dstAddr);

    [LoggerMessage(4007, LogLevel.Information, "Stream {DstAddr} activated")]
    public static partial void Activated(ILogger logger, string dstAddr);

    [LoggerMessage(4008, LogLevel.Information, "Stream {DstAddr} closed ({Reason}) after {Bytes} bytes")]
    public static partial void StreamClosed(ILogger logger, string dstAddr, ProxyCloseReason reason, long bytes);

    [LoggerMessage(4009, LogLevel.Debug, "Relay of stream {DstAddr} failed")]
    public static partial void RelayFailed(ILogger logger, string dstAddr, Exception exception);

    [LoggerMessage(4010, LogLevel.Information, "SOCKS5 proxy stopping; draining {ActivePairs} active streams")]
    public static partial void Stopping(ILogger logger, long activePairs);

    [LoggerMessage(4011, LogLevel.Warning, "SOCKS5 proxy drain deadline reached; closing {ActivePairs} streams")]
    public static partial void DrainDeadline(ILogger logger, long activePairs);

    [LoggerMessage(4012, LogLevel.Debug, "Connection {ConnectionId} of stream {DstAddr} sent bytes before activation; they will be dropped")]
    public static partial void EarlyData(ILogger logger, long connectionId, string dstAddr);

    [LoggerMessage(4013, LogLevel.Error, "Unexpected failure serving connection {ConnectionId}")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(4014, LogLevel.Information, "Refused bytestreams {Request} from {Requester}: not allowed to use this proxy")]
    public static partial void AccessDenied(ILogger logger, string request, string requester);

    [LoggerMessage(4015, LogLevel.Debug, "Activation of sid {Sid} by {Requester} for {Target} refused: {Condition}")]
    public static partial void ActivationRefused(ILogger logger, string sid, string requester, string target, string condition);

    [LoggerMessage(4016, LogLevel.Debug, "Stream {DstAddr} activated by {Requester} for {Target}")]
    public static partial void ActivatedBy(ILogger logger, string dstAddr, string requester, string target);

    [LoggerMessage(4017, LogLevel.Debug, "Address query from {Requester}")]
    public static partial void AddressQuery(ILogger logger, string requester);
}
