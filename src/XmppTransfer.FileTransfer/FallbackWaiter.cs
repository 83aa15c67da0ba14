namespace XmppTransfer.FileTransfer;

/// <summary>
/// A receiver's wait for the sender's IBB re-offer of a file after SOCKS5 failed (matched by sender, name, size, hashes).
/// It is armed before SOCKS5 is tried, so an offer of the same file that arrives while the first receive is still
/// finishing (the sender's next send of it, started as soon as our close reached it) can be handed over to a receive that
/// no longer wants it (or held for it, see <see cref="FallbackWaiters"/>): <see cref="Take"/> then gives that offer back,
/// and the manager admits it as a new offer instead of leaving it unanswered. The sender's full JID going unavailable (<see cref="OnSenderUnavailable"/>) also ends the wait: a
/// sender that is gone will not re-offer. It hears of that until the receive withdraws it, also after a re-offer from
/// another resource of the sender's bare JID was handed over (see <see cref="FallbackWaiters"/>).
/// </summary>
internal sealed class FallbackWaiter(string key, Core.Jid sender)
{
    private const int Armed = 0;
    private const int HandedOver = 1;
    private const int Closed = 2;

    private readonly TaskCompletionSource _offered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _senderGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IncomingFileOffer? _offer;
    private int _state;
    private int _listening;
    private int _flowing;

    /// <summary>Sender, name, size and hashes of the file (see <see cref="FileTransferManager"/>'s FallbackKey).</summary>
    public string Key { get; } = key;

    /// <summary>The full JID that sent the offer being received: only its unavailable presence ends the wait.</summary>
    public Core.Jid Sender { get; } = sender;

    /// <summary>Completes when an offer was handed over.</summary>
    public Task Offered => _offered.Task;

    /// <summary>Completes when <see cref="Sender"/> went unavailable, at any time since the waiter was armed (it stays completed).</summary>
    public Task SenderGone => _senderGone.Task;

    /// <summary>The presence side: <see cref="Sender"/> sent unavailable presence.</summary>
    public void OnSenderUnavailable() => _senderGone.TrySetResult();

    /// <summary>The router's side: hands <paramref name="offer"/> over unless the receive has stopped waiting.</summary>
    public bool TryHandOver(IncomingFileOffer offer)
    {
        // Written before the exchange that publishes it: whoever sees HandedOver sees the offer.
        _offer = offer;
        if (Interlocked.CompareExchange(ref _state, HandedOver, Armed) != Armed)
        {
            return false;
        }

        _offered.TrySetResult();
        return true;
    }

    /// <summary>True until an offer was handed over or the receive stopped waiting.</summary>
    public bool CanTakeOffer => Volatile.Read(ref _state) == Armed;

    /// <summary>
    /// True once the receive's SOCKS5 attempt failed (it waits for a re-offer now, or is about to): a re-offer of a file
    /// received twice at once goes to such a receive first (<see cref="FallbackWaiters"/>).
    /// </summary>
    public bool Listening => Volatile.Read(ref _listening) != 0;

    /// <summary>
    /// True once the receive has its SOCKS5 bytestream (bytes flow, or are about to): the sender's current attempt for it is
    /// not given up, so a re-offer is never handed to it (<see cref="FallbackWaiters"/>) unless its SOCKS5 then fails.
    /// </summary>
    public bool Flowing => Volatile.Read(ref _flowing) != 0 && !Listening;

    /// <summary>The receive's side, through <see cref="FallbackWaiters.Listen"/>: its SOCKS5 attempt failed (see <see cref="Listening"/>).</summary>
    public void Listen() => Volatile.Write(ref _listening, 1);

    /// <summary>The receive's side: its SOCKS5 bytestream came (see <see cref="Flowing"/>).</summary>
    public void MarkFlowing() => Volatile.Write(ref _flowing, 1);

    /// <summary>Who sent the offer handed over, while it has not been taken; null before that.</summary>
    public Core.Jid? HandedOverFrom => Volatile.Read(ref _state) == HandedOver ? Volatile.Read(ref _offer)?.From : null;

    /// <summary>The receive's side: stops waiting, and returns the offer handed over so far (once), or null.</summary>
    public IncomingFileOffer? Take() =>
        Interlocked.Exchange(ref _state, Closed) == HandedOver ? Volatile.Read(ref _offer) : null;
}
