using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Bytestreams.Socks5;

namespace XmppTransfer.FileTransfer;

/// <summary>Manager-wide settings: receiving policy and defaults. Timeouts are listed in docs/timeouts.md.</summary>
public sealed record FileTransferOptions
{
    public static FileTransferOptions Default { get; } = new();

    /// <summary>IBB defaults (block size 4096, window 64).</summary>
    public InBandBytestreamOptions Ibb { get; init; } = InBandBytestreamOptions.Default;

    /// <summary>
    /// Add a SOCKS5 bytestream manager (with <see cref="Socks5"/>) when the session has none, so transfers prefer S5B and
    /// fall back to IBB. False leaves S5B to an explicitly added manager. Default true.
    /// </summary>
    public bool EnableSocks5 { get; init; } = true;

    /// <summary>SOCKS5 settings for the manager added by <see cref="EnableSocks5"/>.</summary>
    public Socks5BytestreamOptions Socks5 { get; init; } = Socks5BytestreamOptions.Default;

    /// <summary>Sending over SOCKS5: after the last byte and our half-close, how long we wait for the receiver to close. Default 30 s.</summary>
    public TimeSpan Socks5CloseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// SOCKS5 transfers: how long no byte may move (the sender's writes or the receiver's reads) before the transfer is ended
    /// as timed out. SOCKS5 has no timer of its own (IBB has its inactivity timeout). Default 120 s.
    /// </summary>
    public TimeSpan Socks5InactivityTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Refuse offers larger than this many bytes; null = only free disk space limits. Default null.</summary>
    public long? MaxFileSize { get; init; }

    /// <summary>When not empty, only offers from these bare JIDs reach the application; others are declined.</summary>
    public IReadOnlyList<Core.Jid> AcceptFrom { get; init; } = [];

    /// <summary>
    /// Most offers of one sender (a bare JID, all its resources together) that may wait to be taken from
    /// <see cref="FileTransferManager.ReceiveOffersAsync"/>; a further one is refused at once with <c>resource-constraint</c>
    /// (type wait: offer again later). Without it, one sender could fill the queue (64 offers from everyone) while the
    /// application is busy with a transfer, and other senders' offers would be refused. An offer stops counting when the
    /// application takes it from the queue; one that expired (<see cref="OfferTimeout"/>) keeps its place until then. At
    /// least 1. Default 16: a user who drops a dozen files into a chat gets them all offered at once by many clients; it
    /// takes four bare JIDs at their limit to fill the queue.
    /// </summary>
    public int MaxPendingOffersPerSender { get; init; } = 16;

    /// <summary>An offer nobody accepts or declines within this time is declined. Default 120 s.</summary>
    public TimeSpan OfferTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>After a SOCKS5 failure, how long the receiver waits for the sender's IBB re-offer. Default 30 s.</summary>
    public TimeSpan FallbackWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// On Linux, a SOCKS5 receive that hashes nothing (the offer carries no hash and <see cref="FileReceiveOptions.ComputeSha256"/>
    /// is false) moves the bytes from the socket to the file inside the kernel (splice), one copy fewer than through a
    /// buffer. Falls back to the buffered path by itself where the file system cannot. Its writes to the file are bounded
    /// by <see cref="WriteStallTimeout"/> as the buffered path's are. Default true.
    /// </summary>
    public bool ZeroCopyReceive { get; init; } = true;

    /// <summary>
    /// Receiving: longest one write to the file may take (a hung disk or network file system) before the transfer fails as
    /// a local I/O error, keeping its part file as it is (not cut: that would hang too). Writes into the page cache take
    /// milliseconds; a disk that is only slow holds a write for seconds at most. It is noticed within this plus a quarter
    /// of it, at most 5 s more; the write itself cannot be interrupted, so the thread in it is left behind and stops when
    /// it returns. Cancelling a receive whose write hangs does not wait for this: once cancelled, a write is given up on
    /// the same way after a 1 s grace (or this timeout, if shorter), and the receive ends as cancelled with the part left
    /// as it is; writes that return within the grace are waited for and the part is cut to them, as on any cancel. The
    /// zero-copy receive (<see cref="ZeroCopyReceive"/>) is bounded the same way: only time inside its pipe -> file splice
    /// counts, never waits for a slow peer (those are <see cref="Socks5InactivityTimeout"/>'s).
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the check off. Default 120 s.
    /// </summary>
    public TimeSpan WriteStallTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Bytes per copy buffer. Default 1 MiB.</summary>
    public int CopyBufferSize { get; init; } = 1024 * 1024;

    /// <summary>Out-of-Band Data: where we serve files and how we download them.</summary>
    public Oob.OobOptions Oob { get; init; } = XmppTransfer.FileTransfer.Oob.OobOptions.Default;

    /// <summary>Minimum interval between progress reports. Default 200 ms.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Clock of the sender's waits before it offers again to a busy receiver (<see cref="FileSendOptions.OfferRetryDelays"/>),
    /// of the receives' write-stall checks (<see cref="WriteStallTimeout"/>) and of the SOCKS5 data phase's silence checks
    /// (<see cref="Socks5InactivityTimeout"/>, and its short grace once the peer's presence goes unavailable), so tests can
    /// step through them. Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
