namespace XmppTransfer.FileTransfer;

/// <summary>
/// Every receive's <see cref="FallbackWaiter"/> from arming to withdrawal, for two jobs with different lifetimes. Routing:
/// a re-offer goes to a waiter of its key that has not been handed one yet. Presence: the sender's unavailable presence
/// reaches every waiter of that sender until it is withdrawn, a waiter already handed a re-offer (from another resource of
/// the bare JID) included; one that left the routing table on hand-over would stop hearing that its own sender is gone.
/// <para>
/// Two receives of the very same file at once (same sender, name, size and hashes: the same file sent twice in a row) each
/// have their own waiter. A re-offer cannot say which attempt it replaces, but the sender re-offers only after its SOCKS5
/// attempt failed, so it replaces one whose receive has failed too, or is about to (its own view of the failure can come
/// a moment after the re-offer). So a re-offer goes, in order: to a waiter whose SOCKS5 attempt has failed
/// (<see cref="FallbackWaiter.Listening"/>), its sender's full JID first, then the oldest; else, at once, to the only
/// receive of that file, while it has no bytestream yet (its sender gave up on SOCKS5, possibly before sending any
/// streamhost). Never to a receive whose bytestream came (<see cref="FallbackWaiter.Flowing"/>): its sender is not giving
/// it up, and it would hold the offer until it ended and then admit it as new, while the receive it was meant for
/// waited in vain. Otherwise, while some receive of that file can still take it, it is held for at most the hold time
/// (<see cref="ReofferHold"/>): the first of them whose SOCKS5 fails takes it then (<see cref="Listen"/>). A hold that runs
/// out hands it to a receive of it still without a bytestream from the re-offer's own full JID, else releases it to be
/// admitted as a new offer (the application is asked about it, as about any offer); so is an offer no receive can take.
/// </para>
/// </summary>
internal sealed class FallbackWaiters(TimeProvider time, TimeSpan hold, Action<IncomingFileOffer, bool> release)
{
    /// <summary>
    /// Longest a re-offer waits for a receive of its file to fail its SOCKS5 (see the class remarks): a receive notices a
    /// broken bytestream, or hears the failure it was told of, within moments of its sender, and the sender's own offer
    /// timeout (which this delays answering) is far longer.
    /// </summary>
    public static readonly TimeSpan ReofferHold = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly List<FallbackWaiter> _armed = [];
    private readonly List<HeldReoffer> _held = [];

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _armed.Count == 0;
            }
        }
    }

    /// <summary>Re-offers held for a receive about to fail its SOCKS5 (tests look).</summary>
    internal int HeldCount
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    public void Add(FallbackWaiter waiter)
    {
        lock (_gate)
        {
            _armed.Add(waiter);
        }
    }

    /// <summary>
    /// Stops routing to <paramref name="waiter"/>. A re-offer held for a receive of its file that no receive of it can take
    /// any more is released at once, not when its hold runs out: to be admitted as a new offer, or, when the user cancelled
    /// that last receive (<paramref name="cancelled"/>), declined, as the sender's attempt at the transfer the user stopped.
    /// </summary>
    public void Remove(FallbackWaiter waiter, bool cancelled = false)
    {
        List<HeldReoffer> orphans;
        lock (_gate)
        {
            _armed.Remove(waiter);
            // Only this file's: another file's waiters may be between a hand-over and its withdrawal (none can take an offer
            // for that moment), and their held re-offer is not this receive's to release, let alone decline as cancelled.
            orphans = [.. _held.Where(h => h.Key == waiter.Key && !_armed.Any(w => w.Key == h.Key && w.CanTakeOffer))];
            foreach (var orphan in orphans)
            {
                _held.Remove(orphan);
            }
        }

        foreach (var orphan in orphans)
        {
            orphan.Timer?.Dispose();
            release(orphan.Offer, cancelled);
        }
    }

    /// <summary>
    /// Takes care of <paramref name="offer"/> as the class remarks say: handed to a waiter of <paramref name="key"/>, or held
    /// for one (released later, if none takes it, through the release callback: the offer, and whether to decline it as
    /// cancelled rather than admit it). False when no receive of the file can take it: admit it now.
    /// </summary>
    public bool TryHandOver(string key, IncomingFileOffer offer)
    {
        var held = new HeldReoffer(key, offer);
        lock (_gate)
        {
            var candidates = _armed.Where(w => w.Key == key && w.CanTakeOffer).ToList();
            foreach (var waiter in candidates.Where(w => w.Listening).OrderByDescending(w => w.Sender == offer.From))
            {
                if (waiter.TryHandOver(offer))
                {
                    return true;
                }
            }

            // The only receive of the file takes a re-offer of its own sender at once; another resource's would sit with it,
            // unanswered, for as long as its healthy SOCKS5 attempt runs: that one is held like any other.
            if (_armed.Count(w => w.Key == key) == 1 && candidates is [{ Flowing: false } only] && only.Sender == offer.From && only.TryHandOver(offer))
            {
                return true;
            }

            if (candidates.Count == 0)
            {
                return false;
            }

            _held.Add(held);
        }

        // Started outside the gate: a timer's callback takes it. A hold taken before its timer exists leaves a timer whose
        // callback finds nothing to do.
        held.Timer = time.CreateTimer(_ => Expire(held), null, hold, Timeout.InfiniteTimeSpan);
        return true;
    }

    /// <summary>
    /// The receive's SOCKS5 attempt failed (or it gave the attempt up): <paramref name="waiter"/> is preferred from now on, and
    /// takes at once a re-offer of its file that is held (its sender's first, then the oldest).
    /// </summary>
    public void Listen(FallbackWaiter waiter)
    {
        HeldReoffer? taken = null;
        lock (_gate)
        {
            waiter.Listen();
            if (!waiter.CanTakeOffer)
            {
                return;
            }

            taken = _held.Where(h => h.Key == waiter.Key).OrderByDescending(h => h.Offer.From == waiter.Sender).FirstOrDefault();
            if (taken is null || !waiter.TryHandOver(taken.Offer))
            {
                return;
            }

            _held.Remove(taken);
        }

        taken.Timer?.Dispose();
    }

    /// <summary><paramref name="sender"/> went unavailable: every waiter of it hears so, handed a re-offer or not.</summary>
    public void OnUnavailable(Core.Jid sender)
    {
        List<FallbackWaiter> gone;
        lock (_gate)
        {
            gone = [.. _armed.Where(w => w.Sender == sender)];
        }

        foreach (var waiter in gone)
        {
            waiter.OnSenderUnavailable();
        }
    }

    /// <summary>The hold of <paramref name="held"/> ran out with no receive of its file failing its SOCKS5.</summary>
    private void Expire(HeldReoffer held)
    {
        held.Timer?.Dispose();
        var offer = held.Offer;
        lock (_gate)
        {
            if (!_held.Remove(held))
            {
                // Taken by a receive just now.
                return;
            }

            // A receive still without a bytestream, from the re-offer's own full JID: its sender gave up on it without a word.
            foreach (var waiter in _armed.Where(w => w.Key == held.Key && w.CanTakeOffer && !w.Flowing && !w.Listening && w.Sender == offer.From))
            {
                if (waiter.TryHandOver(offer))
                {
                    return;
                }
            }
        }

        release(offer, false);
    }
}
