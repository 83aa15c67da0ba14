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

    /// <summary>
    /// When the receiver refuses an offer as busy, with <c>resource-constraint</c> or <c>policy-violation</c> of type wait
    /// (RFC 6120 §8.3.2: retry after waiting; our receiver does so when its queue of offers, or this sender's share of it,
    /// is full; other wait errors, such as <c>recipient-unavailable</c>, are not retried), how long
    /// to wait before each new offer: one entry per retry, each a fresh offer with a new sid. After the last, the send fails
    /// with the receiver's error as it would without retries. Other errors, a decline and an unanswered offer are never
    /// retried. Empty turns retrying off. Each delay positive and at most a day. Default 2, 5, 10, 20 and 40 s (77 s in
    /// all): growing, so a receiver that stays busy is asked rarely, and together below the 120 s a receiver keeps an offer
    /// that got into its queue, so a refused file does not wait much longer than one that got in. The waits run on
    /// <see cref="FileTransferOptions.TimeProvider"/>.
    /// </summary>
    /// <remarks>Written out here, not kept in a static field: <see cref="Default"/> is made first, before any later static field is set.</remarks>
    public IReadOnlyList<TimeSpan> OfferRetryDelays { get; init; } =
        [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40)];

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range; called by each send before it starts.</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(OfferRetryDelays, nameof(OfferRetryDelays));
        foreach (var delay in OfferRetryDelays)
        {
            // A wait of more than a day is a new send, not a retry.
            if (delay <= TimeSpan.Zero || delay > TimeSpan.FromDays(1))
            {
                throw new ArgumentOutOfRangeException(nameof(OfferRetryDelays), delay, "Each retry delay must be positive and at most a day.");
            }
        }
    }
}
