namespace XmppTransfer.FileTransfer;

/// <summary>
/// A re-offer <see cref="FallbackWaiters"/> holds for a receive of its file about to fail its SOCKS5, and the timer that
/// releases it when none does in time.
/// </summary>
internal sealed class HeldReoffer(string key, IncomingFileOffer offer)
{
    /// <summary>Sender, name, size and hashes of the file (see <see cref="FallbackWaiter.Key"/>).</summary>
    public string Key { get; } = key;

    public IncomingFileOffer Offer { get; } = offer;

    /// <summary>Set just after the hold starts; disposed when it ends.</summary>
    public ITimer? Timer { get; set; }
}
