using Microsoft.Extensions.Logging;

namespace XmppTransfer.Bytestreams;

/// <summary>Log messages of the bytestreams (event ids 2000-2999).</summary>
internal static partial class BytestreamsLog
{
    [LoggerMessage(2000, LogLevel.Debug, "IBB {Sid} with {Peer} opened: block size {BlockSize}, {Stanza} stanzas, window {Window}")]
    public static partial void IbbOpened(ILogger logger, string sid, string peer, int blockSize, string stanza, int window);

    [LoggerMessage(2001, LogLevel.Information, "IBB {Sid}: {Peer} asked for smaller blocks than {BlockSize}; retrying with {Smaller}")]
    public static partial void IbbSmallerBlocks(ILogger logger, string sid, string peer, int blockSize, int smaller);

    [LoggerMessage(2002, LogLevel.Warning, "IBB {Sid} from {Peer} failed: {Reason}")]
    public static partial void IbbReceiveFailed(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(2003, LogLevel.Debug, "IBB {Sid} with {Peer} closed by the peer")]
    public static partial void IbbClosedByPeer(ILogger logger, string sid, string peer);

    [LoggerMessage(2004, LogLevel.Information, "Refused an IBB open for {Sid} from {Peer}: {Reason}")]
    public static partial void IbbOpenRefused(ILogger logger, string sid, string peer, string reason);
}
