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
/// The failure table holds at most <see cref="DefaultMaxEntries"/> entries (<see cref="AuthFailureTable"/>; see <see cref="AuthFailureTable.MakeRoom"/> for what goes when it is full);
/// attempts in flight are kept apart, at most one per connection.
/// </para>
/// <para>
/// Known-good addresses: for each account, the last <see cref="KnownGoodAddressesPerAccount"/> addresses that logged in to
/// it within <see cref="KnownGoodRetention"/>. An account under attack (over its all-addresses threshold) or sealed still
/// admits attempts from them, unless the address itself has its threshold of failures for the account; so neither an
/// attack spread over many addresses nor a full table can keep a user out from where they usually log in. Successes only
/// happen for accounts that exist, and the set is kept for at most <see cref="DefaultMaxKnownGoodAccounts"/> accounts, the least
/// recently logged-in going first (<see cref="KnownGoodAddresses"/>).
/// </para>
/// </summary>
internal sealed partial class AuthThrottle
{
    /// <summary>The default bound of the failure table: a few MB at most (a JID's local part has at most 1,023 bytes).</summary>
    public const int DefaultMaxEntries = 10_000;

    /// <summary>
    /// The default bound of the accounts with known-good addresses: at most 4 addresses each, about as much memory as the
    /// failure table. Only accounts that exist get there (a success needs the right credentials).
    /// </summary>
    public const int DefaultMaxKnownGoodAccounts = 10_000;

    /// <summary>The addresses kept per account: the most recent successes.</summary>
    public const int KnownGoodAddressesPerAccount = KnownGoodAddresses.AddressesPerAccount;

    /// <summary>How long a success keeps its address known-good for the account.</summary>
    public static readonly TimeSpan KnownGoodRetention = KnownGoodAddresses.Retention;

    private readonly ServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly AuthFailureTable _failures;
    private readonly Dictionary<AuthThrottleKey, int> _inFlight = [];
    private readonly KnownGoodAddresses _knownGood;

    /// <param name="options">Thresholds, window, delays and clock.</param>
    public AuthThrottle(ServerOptions options)
        : this(options, new AuthFailureTable(options, DefaultMaxEntries, new KnownGoodAddresses(DefaultMaxKnownGoodAccounts, options.TimeProvider)))
    {
    }

    /// <summary>
    /// Over a failure table (and its known-good addresses) made by the caller: tests make them with small bounds and watch
    /// their sizes, the memory bounds no login's outcome shows.
    /// </summary>
    internal AuthThrottle(ServerOptions options, AuthFailureTable failures)
    {
        _options = options;
        _time = options.TimeProvider;
        _failures = failures;
        _knownGood = failures.KnownGood;
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
            failures = _failures.RecordFailure([new AuthThrottleKey(null, source)], now);
            if (account is not null)
            {
                var fromHere = _failures.Count(new AuthThrottleKey(account, source), now);
                failures = Math.Max(failures, Math.Max(fromHere, _failures.Count(new AuthThrottleKey(account, null), now)));
            }
        }

        return Delay(failures);
    }

    private static AuthThrottleKey[] Keys(IPAddress source, string account) => [new(null, source), new(account, source), new(account, null)];

    private TimeSpan Delay(int failures)
    {
        var factor = Math.Pow(2, Math.Min(Math.Max(failures, 1) - 1, 20));
        return TimeSpan.FromTicks((long)Math.Min(_options.AuthFailureDelay.Ticks * factor, _options.MaxAuthFailureDelay.Ticks));
    }

    // The rules of the class summary, with attempts in flight counted as failures, plus a sealed account (see
    // AuthFailureTable.MakeRoom) and the known-good exemption: an address the account logged in from recently is refused only
    // by its own counts.
    private bool Refuses(IPAddress source, string? account, long now)
    {
        var address = new AuthThrottleKey(null, source);
        if (_failures.Count(address, now) + _inFlight.GetValueOrDefault(address) >= _options.AddressLockoutThreshold)
        {
            return true;
        }

        if (account is null)
        {
            return false;
        }

        var pair = new AuthThrottleKey(account, source);
        var fromHere = _failures.Count(pair, now) + _inFlight.GetValueOrDefault(pair);
        if (fromHere >= _options.AccountLockoutThreshold)
        {
            return true;
        }

        if (_knownGood.Find(account, source, now) is { } known)
        {
            // A known-good address whose own record was pushed out at its threshold stays refused for that record's window.
            return known.SealedSince is { } since && _time.GetElapsedTime(since, now) < _options.AuthFailureWindow;
        }

        var total = new AuthThrottleKey(account, null);
        if (_failures.IsSealed(total, now))
        {
            return true;
        }

        return fromHere > 0 && _failures.Count(total, now) + _inFlight.GetValueOrDefault(total) >= _options.AccountLockoutThreshold;
    }

    // Gives back the places an attempt reserved in TryBeginAttempt.
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
}
