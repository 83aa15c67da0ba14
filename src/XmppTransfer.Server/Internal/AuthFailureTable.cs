using System.Diagnostics;
using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// <see cref="AuthThrottle"/>'s failure counts over <see cref="ServerOptions.AuthFailureWindow"/> by <see cref="AuthThrottleKey"/>,
/// at most <c>maxEntries</c> of them (see <see cref="MakeRoom"/> for what goes when it is full). Not thread-safe: the
/// throttle calls it under its lock.
/// </summary>
internal sealed class AuthFailureTable
{
    // Ranks of entries when the table is full: the lowest go first (see MakeRoom).
    private const int RefusesNothing = 0;
    private const int RefusedAddress = 1;
    private const int RefusedPair = 2;
    private const int RefusedAccount = 3;

    private readonly ServerOptions _options;
    private readonly int _maxEntries;
    private readonly TimeProvider _time;
    private readonly KnownGoodAddresses _knownGood;
    private readonly Dictionary<AuthThrottleKey, AuthFailureEntry> _entries = [];

    /// <param name="options">Thresholds and window.</param>
    /// <param name="maxEntries">The bound of the table.</param>
    /// <param name="knownGood">The known-good addresses, which ranking and sealing consult and seal.</param>
    public AuthFailureTable(ServerOptions options, int maxEntries, KnownGoodAddresses knownGood)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 3);
        ArgumentNullException.ThrowIfNull(knownGood);
        _options = options;
        _maxEntries = maxEntries;
        _time = options.TimeProvider;
        _knownGood = knownGood;
    }

    /// <summary>Entries in the table now.</summary>
    public int EntryCount => _entries.Count;

    /// <summary>The known-good addresses this table consults and seals (the throttle's too).</summary>
    public KnownGoodAddresses KnownGood => _knownGood;

    /// <summary>The failures of <paramref name="key"/> in its window (0 when it has none, or its window has passed).</summary>
    public int Count(AuthThrottleKey key, long now) => _entries.TryGetValue(key, out var entry) && IsCounting(entry, now) ? entry.Failures : 0;

    /// <summary>Whether <paramref name="key"/> (an account from anywhere) is sealed now: see <see cref="MakeRoom"/>.</summary>
    public bool IsSealed(AuthThrottleKey key, long now) => _entries.TryGetValue(key, out var entry) && IsSealed(entry, now);

    /// <summary>
    /// Counts one failure for each of <paramref name="keys"/>, first making room for those not in the table yet; returns the
    /// largest count among them.
    /// </summary>
    public int RecordFailure(AuthThrottleKey[] keys, long now)
    {
        MakeRoom(keys.Count(key => !_entries.ContainsKey(key)), now);
        var failures = 0;
        foreach (var key in keys)
        {
            failures = Math.Max(failures, Increment(key, now));
        }

        return failures;
    }

    /// <summary>A success of <paramref name="account"/> from <paramref name="source"/>: that pair's failures are forgotten, and taken off the account's total.</summary>
    public void Forgive(IPAddress source, string account, long now)
    {
        var pair = new AuthThrottleKey(account, source);
        var forgiven = Count(pair, now);
        _entries.Remove(pair);
        var total = new AuthThrottleKey(account, null);
        if (forgiven > 0 && _entries.TryGetValue(total, out var entry))
        {
            // Approximate when the total's window began after the pair's: it never drops below 0.
            _entries[total] = entry with { Failures = Math.Max(0, entry.Failures - forgiven) };
        }
    }

    private bool IsCounting(AuthFailureEntry entry, long now) => _time.GetElapsedTime(entry.WindowStart, now) < _options.AuthFailureWindow;

    private bool IsSealed(AuthFailureEntry entry, long now) =>
        entry.SealedSince is { } since && _time.GetElapsedTime(since, now) < _options.AuthFailureWindow;

    private int Increment(AuthThrottleKey key, long now)
    {
        var entry = _entries.TryGetValue(key, out var existing)
            ? IsCounting(existing, now)
                ? existing with { Failures = existing.Failures + 1, LastFailure = now }
                : new AuthFailureEntry(1, now, now, existing.SealedSince)
            : new AuthFailureEntry(1, now, now, null);
        _entries[key] = entry;
        return entry.Failures;
    }

    /// <summary>
    /// Makes room for <paramref name="needed"/> new entries. First the entries whose window has passed go. If the table is
    /// still full, it is cut to 90 % of its bound in this order, the oldest last failure first within each rank:
    /// <list type="number">
    /// <item>entries that refuse nothing now, those with the fewest failures first: forgetting one gives back fewer guesses
    /// than a threshold, and junk made of one failure each pushes out only its own kind, not an account half-way to its
    /// threshold;</item>
    /// <item>addresses over their threshold: the address may fail again, but each account keeps its own counts;</item>
    /// <item>account-from-address entries that refuse (over the threshold, or any failure while the account is under attack
    /// from an address that is not known-good for it): the account is then sealed, refused from every address but its
    /// known-good ones, until the forgotten entry's window would have ended (a known-good address forgotten at its threshold
    /// keeps its refusal in its known-good record);</item>
    /// <item>accounts over their threshold, or sealed: only when the table holds nothing else, i.e. thousands of accounts
    /// under attack at once, each with its threshold of failures in the window.</item>
    /// </list>
    /// Plain "oldest first" would let an attacker unlock an account under attack by failing under new names from new
    /// addresses until its entries fall out: one extra guess for every few junk failures. Here junk pushes out junk; an
    /// account's record of who failed for it can only be pushed out by entries that refuse something themselves, and then
    /// the account fails closed: no guesser gets a guess more, and its own user waits until the window has passed unless they
    /// log in from a known-good address. Refusing entries are cheap (one failure each once some account is under attack, from
    /// a new address each), so sealing is within reach of an attack of about 9,000 failures per window: the known-good
    /// addresses are what keeps its user's usual addresses open.
    /// </summary>
    public void MakeRoom(int needed, long now)
    {
        if (_entries.Count + needed <= _maxEntries)
        {
            return;
        }

        foreach (var (key, entry) in _entries.ToList())
        {
            if (!IsCounting(entry, now) && !IsSealed(entry, now))
            {
                _entries.Remove(key);
            }
        }

        var target = Math.Min(_maxEntries * 9 / 10, _maxEntries - needed);

        // Sealing can add an account entry for each pair it forgets; the second pass finds those among the rest.
        for (var pass = 0; pass < 3 && _entries.Count > target; pass++)
        {
            var ranked = _entries
                .Select(e => (e.Key, e.Value, Rank: Rank(e.Key, e.Value, now)))
                .OrderBy(e => e.Rank)
                .ThenBy(e => e.Rank == RefusesNothing && IsCounting(e.Value, now) ? e.Value.Failures : 0)
                .ThenBy(e => e.Value.LastFailure)
                .ToList();
            foreach (var (key, entry, rank) in ranked)
            {
                if (_entries.Count <= target)
                {
                    break;
                }

                _entries.Remove(key);
                if (rank == RefusedPair)
                {
                    Seal(key.Account!, key.Address!, entry, now);
                }
            }
        }

        Debug.Assert(_entries.Count <= target, "Three passes empty the table if need be.");
    }

    private int Rank(AuthThrottleKey key, AuthFailureEntry entry, long now)
    {
        var failures = IsCounting(entry, now) ? entry.Failures : 0;
        if (key.Account is null)
        {
            return failures >= _options.AddressLockoutThreshold ? RefusedAddress : RefusesNothing;
        }

        if (key.Address is null)
        {
            return failures >= _options.AccountLockoutThreshold || IsSealed(entry, now) ? RefusedAccount : RefusesNothing;
        }

        // Under its threshold, a known-good address is not refused for the account under attack: forgetting it seals nothing.
        return failures >= _options.AccountLockoutThreshold
            || (failures > 0 && Count(new AuthThrottleKey(key.Account, null), now) >= _options.AccountLockoutThreshold
                && _knownGood.Find(key.Account, key.Address, now) is null)
            ? RefusedPair
            : RefusesNothing;
    }

    // The forgotten pair refused its address until its window ended: the account refuses every address until then, and a
    // known-good address (which the seal does not refuse) keeps the refusal in its known-good record.
    private void Seal(string account, IPAddress source, AuthFailureEntry pair, long now)
    {
        _knownGood.Seal(account, source, pair.WindowStart, now);
        var total = new AuthThrottleKey(account, null);
        _entries[total] = _entries.TryGetValue(total, out var entry)
            ? entry with { SealedSince = Math.Max(entry.SealedSince ?? pair.WindowStart, pair.WindowStart) }
            : new AuthFailureEntry(0, pair.WindowStart, pair.LastFailure, pair.WindowStart);
    }
}
