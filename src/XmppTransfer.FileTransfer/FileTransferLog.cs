using Microsoft.Extensions.Logging;

namespace XmppTransfer.FileTransfer;

/// <summary>Log messages of file transfer (event ids 3000-3999).</summary>
internal static partial class FileTransferLog
{
    [LoggerMessage(3000, LogLevel.Information, "Offering {File} ({Size} bytes) to {Peer} as {Sid} with {Methods}")]
    public static partial void Offering(ILogger logger, string file, long size, string peer, string sid, string methods);

    [LoggerMessage(3001, LogLevel.Information, "{Peer} accepted {Sid} with {Method} from offset {Offset}")]
    public static partial void Accepted(ILogger logger, string peer, string sid, string method, long offset);

    [LoggerMessage(3002, LogLevel.Warning, "SOCKS5 for {Sid} with {Peer} failed ({Reason}); falling back to in-band bytestreams")]
    public static partial void FallingBack(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(3003, LogLevel.Information, "Declined offer {Sid} from {Peer}: {Reason}")]
    public static partial void Declined(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(3004, LogLevel.Information, "Transfer {Sid} with {Peer} done: {Bytes} bytes by {Method} in {Seconds:0.000} s")]
    public static partial void Completed(ILogger logger, string sid, string peer, long bytes, string method, double seconds);

    [LoggerMessage(3005, LogLevel.Warning, "Transfer {Sid} with {Peer} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string sid, string peer, string reason);

    [LoggerMessage(3006, LogLevel.Debug, "Receiving {Sid} from {Peer} by splice: socket to file inside the kernel")]
    public static partial void Splicing(ILogger logger, string sid, string peer);

    [LoggerMessage(3007, LogLevel.Debug, "Receiving {Sid} from {Peer}: splice is not supported here; the rest goes through buffers after {Bytes} bytes")]
    public static partial void SpliceUnsupported(ILogger logger, string sid, string peer, long bytes);

    [LoggerMessage(3008, LogLevel.Debug, "Offer {Sid} from {Peer} is the in-band re-offer of a file we are receiving over SOCKS5; it goes to that receive")]
    public static partial void ReofferRouted(ILogger logger, string sid, string peer);

    [LoggerMessage(3009, LogLevel.Debug, "Offer {Sid} from {Peer} came as a re-offer, but the receive it went to has finished; it is a new offer")]
    public static partial void ReofferReadmitted(ILogger logger, string sid, string peer);

    [LoggerMessage(3010, LogLevel.Information, "{Peer} is busy: it refused offer {Sid} ({Error}); offering again as {NextSid} in {Seconds:0.#} s (retry {Retry} of {Retries})")]
    public static partial void ReceiverBusy(ILogger logger, string peer, string sid, string error, string nextSid, double seconds, int retry, int retries);

    [LoggerMessage(3011, LogLevel.Warning, "A handler of OfferDeclined failed")]
    public static partial void DeclinedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(3012, LogLevel.Debug, "Receiving {Sid} from {Peer}: the file is empty and the sender did not close the SOCKS5 bytestream within {Seconds:0.#} s; it is complete all the same")]
    public static partial void EmptyCloseAwaited(ILogger logger, string sid, string peer, double seconds);

    [LoggerMessage(3013, LogLevel.Information, "Offer {Sid} from {Peer}: the sender re-offered the file in band before any SOCKS5 bytestream came; the SOCKS5 wait is abandoned")]
    public static partial void Socks5WaitAbandoned(ILogger logger, string sid, string peer);

    [LoggerMessage(3014, LogLevel.Warning, "{Path} is {Kind}, which no receive writes: removed unopened, and a new file made in its place")]
    public static partial void ForeignPartReplaced(ILogger logger, string path, string kind);

    [LoggerMessage(3015, LogLevel.Warning, "{Path} is no longer the part this receive wrote and verified: left as it is, and the verified bytes saved from the open file instead")]
    public static partial void PartNameReplaced(ILogger logger, string path);

    [LoggerMessage(3016, LogLevel.Debug, "{Path} cannot be saved by the file it is here (link errno {Errno}); moved by name instead")]
    public static partial void PublishedByName(ILogger logger, string path, int errno);
}
