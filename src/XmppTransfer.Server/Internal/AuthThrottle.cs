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
/// </summary>
internal sealed class AuthThrottle(ServerOptions options)
{
    private const int PruneAbove = 10_000;
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, Entry> _entries = [];
    private readonly TimeProvider _time = options.TimeProvider;

    /// <summary>
    /// Whether <paramref name="address"/> may not try now: for any account (<paramref name="account"/> null) or for
    /// <paramref name="account"/>. Callers keep accounts of different kinds apart (components are prefixed).
    /// </summary>
    public bool IsLockedOut(IPAddress address, string? account)
    {
        var source = Source(address);
        lock (_lock)
        {
            if (Count(new Key(null, source)) >= options.AddressLockoutThreshold)
            {
                return true;
            }

            if (account is null)
            {
                return false;
            }

            var fromHere = Count(new Key(account, source));
            return fromHere >= options.AccountLockoutThreshold
                || (fromHere > 0 && Count(new Key(account, null)) >= options.AccountLockoutThreshold);
        }
    }

    /// <summary>Records a failure and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(IPAddress address, string? account)
    {
        var source = Source(address);
        int failures;
        lock (_lock)
        {
            if (_entries.Count > PruneAbove)
            {
                Prune();
            }

            failures = Increment(new Key(null, source));
            if (account is not null)
            {
                failures = Math.Max(failures, Increment(new Key(account, source)));
                failures = Math.Max(failures, Increment(new Key(account, null)));
            }
        }

        var factor = Math.Pow(2, Math.Min(failures - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(options.AuthFailureDelay.Ticks * factor, options.MaxAuthFailureDelay.Ticks));
        return delay;
    }

    /// <summary>
    /// The right credentials from <paramref name="address"/>: its failures for <paramref name="account"/> are forgiven, in the
    /// account's total too (the user's own typos are no guesses). Other addresses' failures stay counted.
    /// </summary>
    public void RecordSuccess(IPAddress address, string account)
    {
        var source = Source(address);
        lock (_lock)
        {
            var forgiven = Count(new Key(account, source));
            _entries.Remove(new Key(account, source));
            var total = new Key(account, null);
            if (forgiven > 0 && _entries.TryGetValue(total, out var entry))
            {
                // Approximate when the total's window began after the pair's: it never drops below 0.
                _entries[total] = entry with { Failures = Math.Max(0, entry.Failures - forgiven) };
            }
        }
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

    private int Count(Key key) =>
        _entries.TryGetValue(key, out var entry) && _time.GetElapsedTime(entry.WindowStart) < options.AuthFailureWindow ? entry.Failures : 0;

    private int Increment(Key key)
    {
        var now = _time.GetTimestamp();
        var entry = _entries.TryGetValue(key, out var existing) && _time.GetElapsedTime(existing.WindowStart, now) < options.AuthFailureWindow
            ? existing with { Failures = existing.Failures + 1 }
            : new Entry(1, now);
        _entries[key] = entry;
        return entry.Failures;
    }

    private void Prune()
    {
        foreach (var (key, entry) in _entries.ToList())
        {
            if (_time.GetElapsedTime(entry.WindowStart) >= options.AuthFailureWindow)
            {
                _entries.Remove(key);
            }
        }
    }

    /// <summary>An address (no account), an account from an address, or an account from anywhere (no address).</summary>
    private readonly record struct Key(string? Account, IPAddress? Address);

    private readonly record struct Entry(int Failures, long WindowStart);
}
