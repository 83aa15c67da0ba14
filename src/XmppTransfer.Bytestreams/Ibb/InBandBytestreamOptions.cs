namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>In-Band Bytestreams settings. Timeouts are listed in docs/timeouts.md.</summary>
public sealed record InBandBytestreamOptions
{
    public static InBandBytestreamOptions Default { get; } = new();

    /// <summary>Raw bytes per block we propose. Default 4096 (fits every server's stanza limit; see PROTOCOLS.md §3).</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>Unacknowledged blocks in flight while sending. 1 is stop-and-wait. Default 64: through our server 4096-byte blocks went 6 MiB/s at 1, 16 MiB/s at 16, 28-35 MiB/s at 64-128 (docs/benchmarks.md); 64 x 4 KiB bounds the receiver to 256 KiB.</summary>
    public int Window { get; init; } = 64;

    /// <summary>Stanza kind we send with. Default IQ.</summary>
    public IbbStanzaKind Stanza { get; init; } = IbbStanzaKind.Iq;

    /// <summary>Largest block we accept from a peer; a larger open gets resource-constraint. Default 65535.</summary>
    public int MaxAcceptedBlockSize { get; init; } = 65535;

    /// <summary>Smallest block we retry with after resource-constraint. Default 512.</summary>
    public int MinBlockSize { get; init; } = 512;

    /// <summary>How many smaller retries after resource-constraint. Default 3.</summary>
    public int OpenRetries { get; init; } = 3;

    /// <summary>Wait for each block's acknowledgement (and for open/close answers). Default 60 s.</summary>
    public TimeSpan BlockTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Receiving: longest silence between blocks before the stream fails. Default 120 s.</summary>
    public TimeSpan InactivityTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Receiving: wait for the sender's open after we agreed to a stream. Default 60 s.</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Receiving: most bytes received and not yet read before we stop the sender, each block counted with 1 KiB more. It
    /// holds in message mode (no acknowledgements) and against an IQ sender that does not wait for its blocks' results
    /// (that block gets <c>resource-constraint</c>). A sender that waits stays below it as long as its window times
    /// (block-size + 1 KiB) does: 64 blocks of 4 KiB are 320 KiB, 64 of 64 KiB 4.1 MiB. Default 8 MiB.
    /// </summary>
    public int MaxBufferedBytes { get; init; } = 8 * 1024 * 1024;

    internal void Validate()
    {
        if (BlockSize is < 1 or > 65535 || MaxAcceptedBlockSize is < 1 or > 65535 || MinBlockSize is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), "IBB block sizes must be between 1 and 65535.");
        }

        if (Window < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Window), "The IBB window must be at least 1.");
        }

        if (BlockTimeout <= TimeSpan.Zero || InactivityTimeout <= TimeSpan.Zero || OpenTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockTimeout), "IBB timeouts must be positive.");
        }
    }
}
