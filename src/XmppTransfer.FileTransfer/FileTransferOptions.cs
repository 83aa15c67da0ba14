using XmppTransfer.Bytestreams.Ibb;

namespace XmppTransfer.FileTransfer;

/// <summary>Manager-wide settings: receiving policy and defaults. Timeouts are listed in docs/timeouts.md.</summary>
public sealed record FileTransferOptions
{
    public static FileTransferOptions Default { get; } = new();

    /// <summary>IBB defaults (block size 4096, window 16).</summary>
    public InBandBytestreamOptions Ibb { get; init; } = InBandBytestreamOptions.Default;

    /// <summary>Refuse offers larger than this many bytes; null = only free disk space limits. Default null.</summary>
    public long? MaxFileSize { get; init; }

    /// <summary>When not empty, only offers from these bare JIDs reach the application; others are declined.</summary>
    public IReadOnlyList<Core.Jid> AcceptFrom { get; init; } = [];

    /// <summary>An offer nobody accepts or declines within this time is declined. Default 120 s.</summary>
    public TimeSpan OfferTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>After a SOCKS5 failure, how long the receiver waits for the sender's IBB re-offer. Default 30 s.</summary>
    public TimeSpan FallbackWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Bytes per copy buffer. Default 1 MiB.</summary>
    public int CopyBufferSize { get; init; } = 1024 * 1024;

    /// <summary>Out-of-Band Data: where we serve files and how we download them.</summary>
    public Oob.OobOptions Oob { get; init; } = XmppTransfer.FileTransfer.Oob.OobOptions.Default;

    /// <summary>Minimum interval between progress reports. Default 200 ms.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(200);
}
