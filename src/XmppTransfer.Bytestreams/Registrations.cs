using System.Collections.Concurrent;

namespace XmppTransfer.Bytestreams;

/// <summary>
/// Removal from the tables of expected sessions (IBB opens, SOCKS5 offers) that touches only the caller's own entry. A
/// session can be announced again under the same key (a retry with the same peer and sid) while an earlier waiter is
/// still unwinding; removing by key alone would let that waiter take the newer registration with it, and the newer one's
/// offer or open would then be refused as never negotiated.
/// </summary>
internal static class Registrations
{
    /// <summary>Removes <paramref name="key"/> only while it still maps to <paramref name="value"/> (the same object).</summary>
    public static bool TryRemoveExact<TKey, TValue>(this ConcurrentDictionary<TKey, TValue> table, TKey key, TValue value)
        where TKey : notnull
        where TValue : class =>
        table.TryRemove(new KeyValuePair<TKey, TValue>(key, value));

    /// <summary>
    /// Removes the entry under <paramref name="key"/> only when it is the one whose task (<paramref name="taskOf"/>) is
    /// <paramref name="registration"/>, the task its announcement handed out. Returns the entry removed; null when the key
    /// is gone or holds a newer registration, which is left alone for its own waiter.
    /// </summary>
    public static TValue? TryRemoveRegistration<TKey, TValue>(
        this ConcurrentDictionary<TKey, TValue> table, TKey key, Task registration, Func<TValue, Task> taskOf)
        where TKey : notnull
        where TValue : class =>
        table.TryGetValue(key, out var current) && taskOf(current) == registration && table.TryRemoveExact(key, current) ? current : null;

    /// <summary>
    /// Puts <paramref name="value"/> under <paramref name="key"/> and returns the entry it replaced, or null when the key was
    /// free. Unlike capturing the old value in an <c>AddOrUpdate</c> update delegate, which may run and then lose to a removal
    /// before the add that wins, the entry returned is the one actually replaced.
    /// </summary>
    public static TValue? Replace<TKey, TValue>(this ConcurrentDictionary<TKey, TValue> table, TKey key, TValue value)
        where TKey : notnull
        where TValue : class
    {
        while (true)
        {
            if (table.TryGetValue(key, out var older))
            {
                if (table.TryUpdate(key, value, older))
                {
                    return older;
                }
            }
            else if (table.TryAdd(key, value))
            {
                return null;
            }
        }
    }
}
