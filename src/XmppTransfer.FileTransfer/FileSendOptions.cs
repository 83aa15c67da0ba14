using XmppTransfer.Bytestreams.Ibb;

namespace XmppTransfer.FileTransfer;

/// <summary>Options for one send.</summary>
public sealed record FileSendOptions
{
    public static FileSendOptions Default { get; } = new();

    public TransferMethodPreference Method { get; init; } = TransferMethodPreference.Auto;

    /// <summary>IBB block size, window and stanza kind; null = the manager's defaults.</summary>
    public InBandBytestreamOptions? Ibb { get; init; }

    /// <summary>Out-of-Band Data settings for this send; null = the manager's.</summary>
    public Oob.OobOptions? Oob { get; init; }

    /// <summary>A description shown to the receiver.</summary>
    public string? Description { get; init; }

    /// <summary>Compute MD5 and SHA-256 before offering so the receiver can verify (and resume). Default true.</summary>
    public bool ComputeHashes { get; init; } = true;

    /// <summary>How long the receiver has to accept or decline. Default 120 s.</summary>
    public TimeSpan OfferTimeout { get; init; } = TimeSpan.FromSeconds(120);
}
