namespace XmppTransfer.Cli.Proxy;

/// <summary>Doubling delays from a minimum up to a cap; <see cref="Reset"/> after a successful connection.</summary>
internal sealed class ReconnectBackoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private TimeSpan _next;

    public ReconnectBackoff(TimeSpan min, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(min, TimeSpan.Zero, nameof(min));
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min, nameof(max));
        _min = min;
        _max = max;
        _next = min;
    }

    /// <summary>The delay to wait now; the one after it is twice as long, capped.</summary>
    public TimeSpan Next()
    {
        TimeSpan delay = _next;
        _next = _next >= _max / 2 ? _max : _next * 2;
        return delay;
    }

    public void Reset() => _next = _min;
}
