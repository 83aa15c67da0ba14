namespace XmppTransfer.FileTransfer;

/// <summary>
/// Every receive's <see cref="FallbackWaiter"/> from arming to withdrawal, for two jobs with different lifetimes. Routing:
/// a re-offer goes to a waiter of its key that has not been handed one yet. Presence: the sender's unavailable presence
/// reaches every waiter of that sender until it is withdrawn, a waiter already handed a re-offer (from another resource of
/// the bare JID) included; one that left the routing table on hand-over would stop hearing that its own sender is gone.
/// <para>
/// Two receives of the very same file at once (same sender, name, size and hashes: the same file sent twice in a row) each
/// have their own waiter. A re-offer cannot say which attempt it replaces, and as the file is the same either receive can
/// take it; it goes, in order of preference, to a waiter whose receive is waiting for a re-offer now (its SOCKS5 failed)
/// and whose sender is the re-offer's full JID, to any such waiter, to one with that sender, then to the oldest.
/// </para>
/// </summary>
internal sealed class FallbackWaiters
{
    private readonly Lock _gate = new();
    private readonly List<FallbackWaiter> _armed = [];

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

    public void Add(FallbackWaiter waiter)
    {
        lock (_gate)
        {
            _armed.Add(waiter);
        }
    }

    public void Remove(FallbackWaiter waiter)
    {
        lock (_gate)
        {
            _armed.Remove(waiter);
        }
    }

    /// <summary>Hands <paramref name="offer"/> to the best waiter of <paramref name="key"/> (see the class remarks); false when none takes it.</summary>
    public bool TryHandOver(string key, IncomingFileOffer offer)
    {
        lock (_gate)
        {
            var candidates = _armed.Where(w => w.Key == key && w.CanTakeOffer).ToList();
            var ordered = candidates
                .OrderByDescending(w => w.Listening && w.Sender == offer.From)
                .ThenByDescending(w => w.Listening)
                .ThenByDescending(w => w.Sender == offer.From);
            foreach (var waiter in ordered)
            {
                if (waiter.TryHandOver(offer))
                {
                    return true;
                }
            }

            return false;
        }
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
}
