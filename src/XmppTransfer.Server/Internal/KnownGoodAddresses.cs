using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// <see cref="AuthThrottle"/>'s known-good addresses: for each account, the last <see cref="AddressesPerAccount"/> addresses
/// that logged in to it within <see cref="Retention"/>, kept for at most <c>maxAccounts</c> accounts, the least recently
/// logged-in going first. Not thread-safe: the throttle calls it under its lock.
/// </summary>
internal sealed class KnownGoodAddresses
{
    /// <summary>The addresses kept per account: the most recent successes.</summary>
    public const int AddressesPerAccount = 4;

    /// <summary>How long a success keeps its address known-good for the account.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private readonly int _maxAccounts;
    private readonly TimeProvider _time;

    // Known-good addresses by account; the list orders the accounts by their last success, the least recent first.
    private readonly Dictionary<string, LinkedListNode<KnownGoodAccount>> _accounts = new(StringComparer.Ordinal);
    private readonly LinkedList<KnownGoodAccount> _byLastSuccess = new();

    public KnownGoodAddresses(int maxAccounts, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAccounts, 1);
        _maxAccounts = maxAccounts;
        _time = time;
    }

    /// <summary>Accounts with known-good addresses now.</summary>
    public int AccountCount => _accounts.Count;

    /// <summary>The known-good record of <paramref name="source"/> for <paramref name="account"/>, if it is within its retention; null otherwise.</summary>
    public KnownGoodAddress? Find(string account, IPAddress source, long now)
    {
        if (!_accounts.TryGetValue(account, out var node))
        {
            return null;
        }

        foreach (var address in node.Value.Addresses)
        {
            if (address.Address.Equals(source))
            {
                return _time.GetElapsedTime(address.LastSuccess, now) < Retention ? address : null;
            }
        }

        return null;
    }

    /// <summary>
    /// Makes <paramref name="source"/> known-good for <paramref name="account"/>: its most recent success, replacing the
    /// account's least recent address when it has <see cref="AddressesPerAccount"/>. The account becomes the most recently
    /// used; accounts whose last success is older than <see cref="Retention"/> are dropped, and beyond <c>maxAccounts</c>
    /// the least recently used go. A flood of logins to other accounts can therefore push an account out of the set, but
    /// only with that many successful logins to existing accounts.
    /// </summary>
    public void RecordSuccess(IPAddress source, string account, long now)
    {
        if (_accounts.Remove(account, out var node))
        {
            _byLastSuccess.Remove(node);
        }
        else
        {
            node = new LinkedListNode<KnownGoodAccount>(new KnownGoodAccount(account));
        }

        var addresses = node.Value.Addresses;
        addresses.RemoveAll(a => a.Address.Equals(source) || _time.GetElapsedTime(a.LastSuccess, now) >= Retention);
        if (addresses.Count >= AddressesPerAccount)
        {
            // Kept in order of success: the first is the least recent.
            addresses.RemoveAt(0);
        }

        addresses.Add(new KnownGoodAddress(source, now, null));
        node.Value.LastSuccess = now;
        _byLastSuccess.AddLast(node);
        _accounts[account] = node;

        while (_byLastSuccess.First is { } oldest
            && (_accounts.Count > _maxAccounts || _time.GetElapsedTime(oldest.Value.LastSuccess, now) >= Retention))
        {
            _byLastSuccess.RemoveFirst();
            _accounts.Remove(oldest.Value.Account);
        }
    }

    /// <summary>
    /// When <paramref name="source"/> is known-good for <paramref name="account"/>, keeps in its record the refusal of its
    /// failure record that the table forgot at its threshold (window began at <paramref name="windowStart"/>): the account's
    /// seal does not refuse a known-good address, so its record does until that window ends.
    /// </summary>
    public void Seal(string account, IPAddress source, long windowStart, long now)
    {
        if (Find(account, source, now) is null)
        {
            return;
        }

        var addresses = _accounts[account].Value.Addresses;
        var i = addresses.FindIndex(a => a.Address.Equals(source));
        addresses[i] = addresses[i] with { SealedSince = Math.Max(addresses[i].SealedSince ?? windowStart, windowStart) };
    }
}
