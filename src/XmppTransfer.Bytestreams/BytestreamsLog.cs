using Microsoft.Extensions.Logging;

namespace XmppTransfer.Bytestreams;

/// <summary>Log messages of the bytestreams (event ids 2000-2999).</summary>
internal static partial class BytestreamsLog
{
    [LoggerMessage(2000, LogLevel.Debug, "IBB {Sid} with {Peer} opened: block size {BlockSize}, {Stanza} stanzas, window {Window}")]
    public static partial void IbbOpened(ILogger logger, string sid, string peer, int blockSize, string stanza, int window);

    [LoggerMessage(2005, LogLevel.Debug, "IBB {Sid} from {Peer} opened: block size {BlockSize}, {Stanza} stanzas, up to {MaxBuffered} bytes held unread")]
    public static partial void IbbAccepted(ILogger logger, string sid, string peer, int blockSize, string stanza, int maxBuffered);

    [LoggerMessage(2001, LogLevel.Information, "IBB {Sid}: {Peer} asked for smaller blocks than {BlockSize}; retrying with {Smaller}")]
    public static partial void IbbSmallerBlocks(ILogger logger, string sid, string peer, int blockSize, int smaller);

    [LoggerMessage(2002, LogLevel.Warning, "IBB {Sid} from {Peer} failed: {Reason}")]
    public static partial void IbbReceiveFailed(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(2003, LogLevel.Debug, "IBB {Sid} with {Peer} closed by the peer")]
    public static partial void IbbClosedByPeer(ILogger logger, string sid, string peer);

    [LoggerMessage(2004, LogLevel.Information, "Refused an IBB open for {Sid} from {Peer}: {Reason}")]
    public static partial void IbbOpenRefused(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(2010, LogLevel.Debug, "S5B listener refused a connection from {Remote}: {Reason}")]
    public static partial void S5bListenerRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(2019, LogLevel.Warning, "S5B listener closed a connection from {Remote} unread: {Reason}; more such refusals are logged at Debug until a connection is admitted")]
    public static partial void S5bListenerOverCap(ILogger logger, string remote, string reason);

    [LoggerMessage(2011, LogLevel.Debug, "S5B {Sid}: offering {Count} streamhost(s) to {Peer}: {Hosts}")]
    public static partial void S5bOffering(ILogger logger, string sid, int count, string peer, string hosts);

    [LoggerMessage(2012, LogLevel.Information, "S5B {Sid} with {Peer} established via {StreamHost} ({Kind})")]
    public static partial void S5bEstablished(ILogger logger, string sid, string peer, string streamHost, string kind);

    [LoggerMessage(2013, LogLevel.Warning, "S5B {Sid} with {Peer} failed: {Reason}")]
    public static partial void S5bFailed(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(2014, LogLevel.Information, "Refused an S5B offer {Sid} from {Peer}: {Reason}")]
    public static partial void S5bOfferRefused(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(2015, LogLevel.Debug, "S5B proxy discovery found {Count} streamhost(s): {Hosts}")]
    public static partial void S5bProxiesFound(ILogger logger, int count, string hosts);

    [LoggerMessage(2016, LogLevel.Debug, "S5B proxy {Proxy} skipped: {Reason}")]
    public static partial void S5bProxySkipped(ILogger logger, string proxy, string reason);

    [LoggerMessage(2017, LogLevel.Debug, "S5B candidate {Host} skipped: {Reason}")]
    public static partial void S5bCandidateSkipped(ILogger logger, string host, string reason);

    [LoggerMessage(2018, LogLevel.Information, "S5B {Sid} from {Peer}: trying the first {Tried} streamhost(s) and ignoring {Ignored} more")]
    public static partial void S5bCandidatesCapped(ILogger logger, string sid, string peer, int tried, int ignored);

    [LoggerMessage(2020, LogLevel.Warning, "S5B {Sid}: no direct streamhost, offering proxies only: {Reason}")]
    public static partial void S5bListenFailed(ILogger logger, string sid, string reason);

    [LoggerMessage(2021, LogLevel.Warning, "A handler of DirectListenFailed threw; ignored")]
    public static partial void S5bListenHandlerFailed(ILogger logger, Exception exception);
}
