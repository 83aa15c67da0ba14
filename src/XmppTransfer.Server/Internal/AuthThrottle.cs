using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// Counts failed logins per remote address and per account over a window. Each failure answer is delayed by
/// <c>AuthFailureDelay × 2^(n-1)</c> (capped), n being the larger of the two recent counts, so a password storm
/// slows itself down without holding anyone else up; past a threshold the address or the account is locked out
/// (answered <c>temporary-auth-failure</c>) until the window has passed. A success clears the account's count.
/// </summary>
internal sealed class AuthThrottle(ServerOptions options)
{
    private const int PruneAbove = 10_000;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = options.TimeProvider;

    public bool IsLockedOut(IPAddress address, string? user)
    {
        lock (_lock)
        {
            return Count(AddressKey(address)) >= options.AddressLockoutThreshold
                || (user is not null && Count(UserKey(user)) >= options.AccountLockoutThreshold);
        }
    }

    /// <summary>Records a failure and returns how long to wait before answering it.</summary>
    public TimeSpan RecordFailure(IPAddress address, string? user)
    {
        int failures;
        lock (_lock)
        {
            if (_entries.Count > PruneAbove)
            {
                Prune();
            }

            failures = Increment(AddressKey(address));
            if (user is not null)
            {
                failures = Math.Max(failures, Increment(UserKey(user)));
            }
        }

        var factor = Math.Pow(2, Math.Min(failures - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(options.AuthFailureDelay.Ticks * factor, options.MaxAuthFailureDelay.Ticks));
        return delay;
    }

    public void RecordSuccess(string user)
    {
        lock (_lock)
        {
            _entries.Remove(UserKey(user));
        }
    }

    private static string AddressKey(IPAddress address) => "a:" + address;

    private static string UserKey(string user) => "u:" + user;

    private int Count(string key) =>
        _entries.TryGetValue(key, out var entry) && _time.GetElapsedTime(entry.WindowStart) < options.AuthFailureWindow ? entry.Failures : 0;

    private int Increment(string key)
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

    private readonly record struct Entry(int Failures, long WindowStart);
}
