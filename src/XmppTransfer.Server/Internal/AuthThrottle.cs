using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// Failed logins (SASL and component handshakes), counted over <see cref="ServerOptions.AuthFailureWindow"/> per remote
/// address, per account and address, and per account over all addresses (docs/server.md, "Failed logins"):
/// <list type="bullet">
/// <item>an address with <see cref="ServerOptions.AddressLockoutThreshold"/> failures is refused for every account;</item>
/// <item>an account with <see cref="ServerOptions.AccountLockoutThreshold"/> failures from one address is refused from that
/// address, the right password included; other addresses are not affected;</item>
/// <item>an account with <see cref="ServerOptions.AccountLockoutThreshold"/> failures from all addresses together is under
/// attack: every address that has failed for it in the window is refused for it, while an address without a failure for
/// it still logs in. A guesser spread over many addresses gets one guess per address, and nobody can lock the user out
/// from an address they do not share.</item>
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
/// <para>Attempts in flight are kept apart from the failure table, at most one per connection.</para>
/// </summary>
internal sealed class AuthThrottle
{
    private const int PruneAbove = 10_000;
    private readonly ServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, Entry> _entries = [];
    private readonly Dictionary<Key, int> _inFlight = [];

    /// <param name="options">Thresholds, window, delays and clock.</param>
    public AuthThrottle(ServerOptions options)
    {
        _options = options;
        _time = options.TimeProvider;
    }

    /// <summary>
    /// Whether <paramref name="address"/> may not try now: for any account (<paramref name="account"/> null) or for
    /// <paramref name="account"/>; attempts in flight count as failures. Callers keep accounts of different kinds apart
    /// (components are prefixed). A check only: use <see cref="TryBeginAttempt"/> before checking credentials.
    /// </summary>
    public bool IsLockedOut(IPAddress address, string? account)
    {
        var source = Source(address);
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
        var source = Source(address);
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
        var source = Source(address);
        int failures;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            PruneIfLarge(now);
            failures = Increment(new Key(null, source), now);
            if (account is not null)
            {
                failures = Math.Max(failures, Math.Max(Count(new Key(account, source), now), Count(new Key(account, null), now)));
            }
        }

        return Delay(failures);
    }

    /// <summary>IPv4 (also when mapped into IPv6) as it is; IPv6 cut to its /64.</summary>
    private static IPAddress Source(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private static Key[] Keys(IPAddress source, string account) => [new(null, source), new(account, source), new(account, null)];

    private TimeSpan Delay(int failures)
    {
        var factor = Math.Pow(2, Math.Min(Math.Max(failures, 1) - 1, 20));
        return TimeSpan.FromTicks((long)Math.Min(_options.AuthFailureDelay.Ticks * factor, _options.MaxAuthFailureDelay.Ticks));
    }

    // The rules of the class summary, with attempts in flight counted as failures.
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

        var total = new Key(account, null);
        var pair = new Key(account, source);
        var fromHere = Count(pair, now) + _inFlight.GetValueOrDefault(pair);
        return fromHere >= _options.AccountLockoutThreshold
            || (fromHere > 0 && Count(total, now) + _inFlight.GetValueOrDefault(total) >= _options.AccountLockoutThreshold);
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
        PruneIfLarge(now);
        var failures = 0;
        foreach (var key in Keys(source, account))
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

    private int Count(Key key, long now) => _entries.TryGetValue(key, out var entry) && IsCounting(entry, now) ? entry.Failures : 0;

    private int Increment(Key key, long now)
    {
        var entry = _entries.TryGetValue(key, out var existing)
            ? IsCounting(existing, now)
                ? existing with { Failures = existing.Failures + 1 }
                : new Entry(1, now)
            : new Entry(1, now);
        _entries[key] = entry;
        return entry.Failures;
    }

    private void PruneIfLarge(long now)
    {
        if (_entries.Count <= PruneAbove)
        {
            return;
        }

        foreach (var (key, entry) in _entries.ToList())
        {
            if (!IsCounting(entry, now))
            {
                _entries.Remove(key);
            }
        }
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

        /// <summary>The credentials were right: the place is given back and the address's failures for the account are forgiven.</summary>
        public void Succeed()
        {
            lock (_throttle._lock)
            {
                Complete();
                _throttle.Forgive(_source, _account, _throttle._time.GetTimestamp());
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

    /// <summary>Failures in the window that began at <see cref="WindowStart"/>.</summary>
    private readonly record struct Entry(int Failures, long WindowStart);
}
