namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>In-Band Bytestreams settings. Timeouts are listed in docs/timeouts.md.</summary>
public sealed record InBandBytestreamOptions
{
    public static InBandBytestreamOptions Default { get; } = new();

    /// <summary>Raw bytes per block we propose. Default 4096 (fits every server's stanza limit; see PROTOCOLS.md §3).</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>
    /// Unacknowledged blocks in flight while sending. 1 is stop-and-wait. Default 64: through our server 4096-byte blocks went
    /// 6 MiB/s at 1, 16 MiB/s at 16, 28-35 MiB/s at 64-128 (docs/benchmarks.md); 64 x 4 KiB bounds the receiver to 256 KiB.
    /// <see cref="MaxInFlightBytes"/> bounds it further for big blocks (the stream's <see cref="IbbSendStream.Window"/>).
    /// </summary>
    public int Window { get; init; } = 64;

    /// <summary>
    /// Sending: most bytes in flight (sent and not yet acknowledged), each block counted with 1 KiB more, as a receiver of
    /// ours counts it against its <see cref="MaxBufferedBytes"/>. The window in effect is
    /// min(<see cref="Window"/>, max(1, MaxInFlightBytes / (negotiated block size + 1 KiB))): one block is always allowed.
    /// Default 4 MiB, half our receiver's default <see cref="MaxBufferedBytes"/>, so a sender of ours never comes near that
    /// cap whatever window and block size it is given: 64 blocks of 4 KiB (320 KiB) are not affected; 65535-byte blocks get
    /// at most 63 in flight (4.0 MiB), where a window of 200 would otherwise hold 13 MiB at the receiver.
    /// </summary>
    public int MaxInFlightBytes { get; init; } = 4 * 1024 * 1024;

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
    /// (block-size + 1 KiB) does: 64 blocks of 4 KiB are 320 KiB, 64 of 64 KiB 4.1 MiB. Ours also keeps to
    /// <see cref="MaxInFlightBytes"/> (4 MiB by default, half of this). Must hold one block of <see cref="MaxAcceptedBlockSize"/>
    /// plus 1 KiB. Default 8 MiB.
    /// </summary>
    public int MaxBufferedBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// The window in effect for blocks of <paramref name="blockSize"/> bytes (the negotiated size); see <see cref="MaxInFlightBytes"/>.
    /// </summary>
    internal int EffectiveWindow(int blockSize) =>
        Math.Min(Window, Math.Max(1, MaxInFlightBytes / (blockSize + IbbReceiveStream.BlockOverheadBytes)));

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

        if (MaxInFlightBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInFlightBytes), $"MaxInFlightBytes must be positive, not {MaxInFlightBytes}.");
        }

        var oneBlock = MaxAcceptedBlockSize + IbbReceiveStream.BlockOverheadBytes;
        if (MaxBufferedBytes < oneBlock)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxBufferedBytes),
                $"MaxBufferedBytes ({MaxBufferedBytes}) must hold at least one block of MaxAcceptedBlockSize ({MaxAcceptedBlockSize}) "
                + $"plus {IbbReceiveStream.BlockOverheadBytes} bytes of overhead: at least {oneBlock}.");
        }

        if (BlockTimeout <= TimeSpan.Zero || InactivityTimeout <= TimeSpan.Zero || OpenTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockTimeout), "IBB timeouts must be positive.");
        }
    }
}
