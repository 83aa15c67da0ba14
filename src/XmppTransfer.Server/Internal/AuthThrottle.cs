using System.Diagnostics;
using System.Net;
using XmppTransfer.Core.Transport;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// Failed logins (SASL and component handshakes), counted over <see cref="ServerOptions.AuthFailureWindow"/> per remote
/// address, per account and address, and per account over all addresses (docs/server.md, "Failed logins"):
/// <list type="bullet">
/// <item>an address with <see cref="ServerOptions.AddressLockoutThreshold"/> failures is refused for every account;</item>
/// <item>an account with <see cref="ServerOptions.AccountLockoutThreshold"/> failures from one address is refused from that
/// address, the right password included; other addresses are not affected;</item>
/// <item>an account with <see cref="ServerOptions.AccountLockoutThreshold"/> failures from all addresses together is under
/// attack: every address that has failed for it in the window is refused for it (but a known-good one, below), while an
/// address without a failure for it still logs in. A guesser spread over many addresses gets one guess per address, and
/// nobody can lock the user out from an address they do not share.</item>
/// </list>
/// Each failure answer is delayed <c>AuthFailureDelay × 2^(n-1)</c> (capped), n being the largest of the three counts, so a
/// password storm slows itself down; successes are never delayed. A success forgives its address's failures for the account.
/// An address is an IPv4 address or an IPv6 /64 (one host or LAN hands out a whole /64).
/// <para>
/// Check and count are one step: <see cref="TryBeginAttempt"/> decides and, when it admits, reserves a place that counts as
/// a failure against every threshold until the caller completes the <see cref="Attempt"/> (<see cref="Attempt.Fail"/> makes
/// it a failure, <see cref="Attempt.Succeed"/> or <see cref="Attempt.Dispose"/> gives it back). Parallel attempts therefore
/// never get more checks than a threshold allows, whatever the interleaving.
/// </para>
/// <para>
/// The failure table holds at most <c>maxEntries</c> entries (see <see cref="MakeRoom"/> for what goes when it is full);
/// attempts in flight are kept apart, at most one per connection.
/// </para>
/// <para>
/// Known-good addresses: for each account, the last <see cref="KnownGoodAddressesPerAccount"/> addresses that logged in to
/// it within <see cref="KnownGoodRetention"/>. An account under attack (over its all-addresses threshold) or sealed still
/// admits attempts from them, unless the address itself has its threshold of failures for the account; so neither an
/// attack spread over many addresses nor a full table can keep a user out from where they usually log in. Successes only
/// happen for accounts that exist, and the set is kept for at most <c>maxKnownGoodAccounts</c> accounts, the least
/// recently logged-in going first (see <see cref="RecordSuccess"/>).
/// </para>
/// </summary>
internal sealed class AuthThrottle
{
    /// <summary>The default bound of the failure table: a few MB at most (a JID's local part has at most 1,023 bytes).</summary>
    public const int DefaultMaxEntries = 10_000;

    /// <summary>
    /// The default bound of the accounts with known-good addresses: at most 4 addresses each, about as much memory as the
    /// failure table. Only accounts that exist get there (a success needs the right credentials).
    /// </summary>
    public const int DefaultMaxKnownGoodAccounts = 10_000;

    /// <summary>The addresses kept per account: the most recent successes.</summary>
    public const int KnownGoodAddressesPerAccount = 4;

    /// <summary>How long a success keeps its address known-good for the account.</summary>
    public static readonly TimeSpan KnownGoodRetention = TimeSpan.FromHours(24);

    // Ranks of entries when the table is full: the lowest go first (see MakeRoom).
    private const int RefusesNothing = 0;
    private const int RefusedAddress = 1;
    private const int RefusedPair = 2;
    private const int RefusedAccount = 3;

    private readonly ServerOptions _options;
    private readonly int _maxEntries;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, Entry> _entries = [];
    private readonly Dictionary<Key, int> _inFlight = [];

    // Known-good addresses by account; the list orders the accounts by their last success, the least recent first.
    private readonly int _maxKnownGoodAccounts;
    private readonly Dictionary<string, LinkedListNode<KnownGood>> _knownGood = new(StringComparer.Ordinal);
    private readonly LinkedList<KnownGood> _knownGoodByLastSuccess = new();

    /// <param name="options">Thresholds, window, delays and clock.</param>
    /// <param name="maxEntries">The bound of the failure table (tests use small ones).</param>
    /// <param name="maxKnownGoodAccounts">The bound of the accounts with known-good addresses (tests use small ones).</param>
    public AuthThrottle(ServerOptions options, int maxEntries = DefaultMaxEntries, int maxKnownGoodAccounts = DefaultMaxKnownGoodAccounts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKnownGoodAccounts, 1);
        _options = options;
        _maxEntries = maxEntries;
        _maxKnownGoodAccounts = maxKnownGoodAccounts;
        _time = options.TimeProvider;
    }

    /// <summary>Entries in the failure table now (for tests).</summary>
    internal int EntryCount
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Accounts with known-good addresses now (for tests).</summary>
    internal int KnownGoodAccountCount
    {
        get
        {
            lock (_lock)
            {
                return _knownGood.Count;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="address"/> may not try now: for any account (<paramref name="account"/> null) or for
    /// <paramref name="account"/>; attempts in flight count as failures. Callers keep accounts of different kinds apart
    /// (components are prefixed). A check only: use <see cref="TryBeginAttempt"/> before checking credentials.
    /// </summary>
    public bool IsLockedOut(IPAddress address, string? account)
    {
        var source = RemoteAddressKey.Of(address);
        lock (_lock)
        {
            return Refuses(source, account, _time.GetTimestamp());
        }
    }

    /// <summary>
    /// Reserves a login attempt of <paramref name="account"/> from <paramref name="address"/> before its credentials are
    /// checked, or returns null when it is refused (<see cref="IsLockedOut"/>); then record the refusal with
    /// <see cref="RecordRefusal"/>. The caller must complete or dispose the attempt on every path.
    /// </summary>
    public Attempt? TryBeginAttempt(IPAddress address, string account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var source = RemoteAddressKey.Of(address);
        lock (_lock)
        {
            if (Refuses(source, account, _time.GetTimestamp()))
            {
                return null;
            }

            foreach (var key in Keys(source, account))
            {
                _inFlight[key] = _inFlight.GetValueOrDefault(key) + 1;
            }
        }

        return new Attempt(this, source, account);
    }

    /// <summary>
    /// A failure in which no credentials were checked: a refusal (<see cref="TryBeginAttempt"/> returned null, or the address
    /// is locked out) or an exchange that named no usable account. It counts for the address only: it is no guess at the
    /// account, and counting it there would let a refusal that only waited for a parallel attempt of the user lock the
    /// user's address out of their account after that attempt succeeded. Returns how long to wait before answering: the
    /// largest of the address's count and <paramref name="account"/>'s counts, as for a failure.
    /// </summary>
    public TimeSpan RecordRefusal(IPAddress address, string? account)
    {
        var source = RemoteAddressKey.Of(address);
        int failures;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            MakeRoom(_entries.ContainsKey(new Key(null, source)) ? 0 : 1, now);
            failures = Increment(new Key(null, source), now);
            if (account is not null)
            {
                failures = Math.Max(failures, Math.Max(Count(new Key(account, source), now), Count(new Key(account, null), now)));
            }
        }

        return Delay(failures);
    }

    private static Key[] Keys(IPAddress source, string account) => [new(null, source), new(account, source), new(account, null)];

    private TimeSpan Delay(int failures)
    {
        var factor = Math.Pow(2, Math.Min(Math.Max(failures, 1) - 1, 20));
        return TimeSpan.FromTicks((long)Math.Min(_options.AuthFailureDelay.Ticks * factor, _options.MaxAuthFailureDelay.Ticks));
    }

    // The rules of the class summary, with attempts in flight counted as failures, plus a sealed account (see MakeRoom) and
    // the known-good exemption: an address the account logged in from recently is refused only by its own counts.
    private bool Refuses(IPAddress source, string? account, long now)
    {
        var address = new Key(null, source);
        if (Count(address, now) + _inFlight.GetValueOrDefault(address) >= _options.AddressLockoutThreshold)
        {
            return true;
        }

        if (account is null)
        {
            return false;
        }

        var pair = new Key(account, source);
        var fromHere = Count(pair, now) + _inFlight.GetValueOrDefault(pair);
        if (fromHere >= _options.AccountLockoutThreshold)
        {
            return true;
        }

        if (FindKnownGood(account, source, now) is { } known)
        {
            // A known-good address whose own record was pushed out at its threshold stays refused for that record's window.
            return known.SealedSince is { } since && _time.GetElapsedTime(since, now) < _options.AuthFailureWindow;
        }

        var total = new Key(account, null);
        if (_entries.TryGetValue(total, out var entry) && IsSealed(entry, now))
        {
            return true;
        }

        return fromHere > 0 && Count(total, now) + _inFlight.GetValueOrDefault(total) >= _options.AccountLockoutThreshold;
    }

    // The known-good record of source for account, if it is within its retention; null otherwise.
    private KnownGoodAddress? FindKnownGood(string account, IPAddress source, long now)
    {
        if (!_knownGood.TryGetValue(account, out var node))
        {
            return null;
        }

        foreach (var address in node.Value.Addresses)
        {
            if (address.Address.Equals(source))
            {
                return _time.GetElapsedTime(address.LastSuccess, now) < KnownGoodRetention ? address : null;
            }
        }

        return null;
    }

    /// <summary>
    /// Makes <paramref name="source"/> known-good for <paramref name="account"/>: its most recent success, replacing the
    /// account's least recent address when it has <see cref="KnownGoodAddressesPerAccount"/>. The account becomes the most
    /// recently used; accounts whose last success is older than <see cref="KnownGoodRetention"/> are dropped, and beyond
    /// <c>maxKnownGoodAccounts</c> the least recently used go. A flood of logins to other accounts can therefore push an
    /// account out of the set, but only with that many successful logins to existing accounts.
    /// </summary>
    private void RecordSuccess(IPAddress source, string account, long now)
    {
        if (_knownGood.Remove(account, out var node))
        {
            _knownGoodByLastSuccess.Remove(node);
        }
        else
        {
            node = new LinkedListNode<KnownGood>(new KnownGood(account));
        }

        var addresses = node.Value.Addresses;
        addresses.RemoveAll(a => a.Address.Equals(source) || _time.GetElapsedTime(a.LastSuccess, now) >= KnownGoodRetention);
        if (addresses.Count >= KnownGoodAddressesPerAccount)
        {
            // Kept in order of success: the first is the least recent.
            addresses.RemoveAt(0);
        }

        addresses.Add(new KnownGoodAddress(source, now, null));
        node.Value.LastSuccess = now;
        _knownGoodByLastSuccess.AddLast(node);
        _knownGood[account] = node;

        while (_knownGoodByLastSuccess.First is { } oldest
            && (_knownGood.Count > _maxKnownGoodAccounts || _time.GetElapsedTime(oldest.Value.LastSuccess, now) >= KnownGoodRetention))
        {
            _knownGoodByLastSuccess.RemoveFirst();
            _knownGood.Remove(oldest.Value.Account);
        }
    }

    private void Release(IPAddress source, string account)
    {
        foreach (var key in Keys(source, account))
        {
            var left = _inFlight[key] - 1;
            if (left == 0)
            {
                _inFlight.Remove(key);
            }
            else
            {
                _inFlight[key] = left;
            }
        }
    }

    private int RecordFailure(IPAddress source, string account, long now)
    {
        var keys = Keys(source, account);
        MakeRoom(keys.Count(key => !_entries.ContainsKey(key)), now);
        var failures = 0;
        foreach (var key in keys)
        {
            failures = Math.Max(failures, Increment(key, now));
        }

        return failures;
    }

    private void Forgive(IPAddress source, string account, long now)
    {
        var pair = new Key(account, source);
        var forgiven = Count(pair, now);
        _entries.Remove(pair);
        var total = new Key(account, null);
        if (forgiven > 0 && _entries.TryGetValue(total, out var entry))
        {
            // Approximate when the total's window began after the pair's: it never drops below 0.
            _entries[total] = entry with { Failures = Math.Max(0, entry.Failures - forgiven) };
        }
    }

    private bool IsCounting(Entry entry, long now) => _time.GetElapsedTime(entry.WindowStart, now) < _options.AuthFailureWindow;

    private bool IsSealed(Entry entry, long now) =>
        entry.SealedSince is { } since && _time.GetElapsedTime(since, now) < _options.AuthFailureWindow;

    private int Count(Key key, long now) => _entries.TryGetValue(key, out var entry) && IsCounting(entry, now) ? entry.Failures : 0;

    private int Increment(Key key, long now)
    {
        var entry = _entries.TryGetValue(key, out var existing)
            ? IsCounting(existing, now)
                ? existing with { Failures = existing.Failures + 1, LastFailure = now }
                : new Entry(1, now, now, existing.SealedSince)
            : new Entry(1, now, now, null);
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
    private void MakeRoom(int needed, long now)
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

    private int Rank(Key key, Entry entry, long now)
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
            || (failures > 0 && Count(new Key(key.Account, null), now) >= _options.AccountLockoutThreshold
                && FindKnownGood(key.Account, key.Address, now) is null)
            ? RefusedPair
            : RefusesNothing;
    }

    // The forgotten pair refused its address until its window ended: the account refuses every address until then, and a
    // known-good address (which the seal does not refuse) keeps the refusal in its known-good record.
    private void Seal(string account, IPAddress source, Entry pair, long now)
    {
        if (FindKnownGood(account, source, now) is not null)
        {
            var addresses = _knownGood[account].Value.Addresses;
            var i = addresses.FindIndex(a => a.Address.Equals(source));
            addresses[i] = addresses[i] with { SealedSince = Math.Max(addresses[i].SealedSince ?? pair.WindowStart, pair.WindowStart) };
        }

        var total = new Key(account, null);
        _entries[total] = _entries.TryGetValue(total, out var entry)
            ? entry with { SealedSince = Math.Max(entry.SealedSince ?? pair.WindowStart, pair.WindowStart) }
            : new Entry(0, pair.WindowStart, pair.LastFailure, pair.WindowStart);
    }

    /// <summary>One login attempt admitted by <see cref="TryBeginAttempt"/>, counted as a failure until it is completed.</summary>
    internal sealed class Attempt : IDisposable
    {
        private readonly AuthThrottle _throttle;
        private readonly IPAddress _source;
        private readonly string _account;
        private bool _completed;

        public Attempt(AuthThrottle throttle, IPAddress source, string account)
        {
            _throttle = throttle;
            _source = source;
            _account = account;
        }

        /// <summary>The credentials were wrong (or the exchange failed): a failure; returns how long to wait before answering.</summary>
        public TimeSpan Fail()
        {
            int failures;
            lock (_throttle._lock)
            {
                Complete();
                failures = _throttle.RecordFailure(_source, _account, _throttle._time.GetTimestamp());
            }

            return _throttle.Delay(failures);
        }

        /// <summary>
        /// The credentials were right: the place is given back, the address's failures for the account are forgiven and the
        /// address becomes known-good for the account.
        /// </summary>
        public void Succeed()
        {
            lock (_throttle._lock)
            {
                Complete();
                var now = _throttle._time.GetTimestamp();
                _throttle.Forgive(_source, _account, now);
                _throttle.RecordSuccess(_source, _account, now);
            }
        }

        /// <summary>Gives the place back unless the attempt was completed: the exchange ended before an answer (no guess).</summary>
        public void Dispose()
        {
            lock (_throttle._lock)
            {
                if (!_completed)
                {
                    Complete();
                }
            }
        }

        private void Complete()
        {
            if (_completed)
            {
                throw new InvalidOperationException("The attempt has already been completed.");
            }

            _completed = true;
            _throttle.Release(_source, _account);
        }
    }

    /// <summary>An address (no account), an account from an address, or an account from anywhere (no address).</summary>
    private readonly record struct Key(string? Account, IPAddress? Address);

    /// <summary>Failures in the window that began at <see cref="WindowStart"/>; <see cref="SealedSince"/>: see <see cref="MakeRoom"/>.</summary>
    private readonly record struct Entry(int Failures, long WindowStart, long LastFailure, long? SealedSince);

    /// <summary>An account's known-good addresses, the least recent success first.</summary>
    private sealed class KnownGood(string account)
    {
        public string Account { get; } = account;

        public List<KnownGoodAddress> Addresses { get; } = new(KnownGoodAddressesPerAccount);

        public long LastSuccess { get; set; }
    }

    /// <summary>
    /// An address's last success for an account; <see cref="SealedSince"/>: the window start of its failure record, when that
    /// was forgotten at its threshold (see <see cref="Seal"/>).
    /// </summary>
    private readonly record struct KnownGoodAddress(IPAddress Address, long LastSuccess, long? SealedSince);
}
