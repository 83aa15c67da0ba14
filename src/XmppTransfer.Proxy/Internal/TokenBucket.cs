namespace XmppTransfer.Proxy.Internal;

/// <summary>
/// A token bucket that lets consumers go into debt: a chunk is always granted, and the caller waits until
/// the debt is paid back at the configured rate. Burst capacity is a tenth of a second of traffic.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly double _bytesPerSecond;
    private readonly double _capacity;
    private readonly TimeProvider _timeProvider;
    private double _tokens;
    private long _lastRefill;

    public TokenBucket(long bytesPerSecond, TimeProvider timeProvider)
    {
        _bytesPerSecond = bytesPerSecond;
        _capacity = Math.Max(bytesPerSecond / 10.0, 1.0);
        _timeProvider = timeProvider;
        _tokens = _capacity;
        _lastRefill = timeProvider.GetTimestamp();
    }

    /// <summary>Takes <paramref name="bytes"/> tokens; completes when the bucket is no longer in debt.</summary>
    public ValueTask TakeAsync(int bytes, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_lock)
        {
            long now = _timeProvider.GetTimestamp();
            _tokens = Math.Min(_capacity, _tokens + (_timeProvider.GetElapsedTime(_lastRefill, now).TotalSeconds * _bytesPerSecond));
            _lastRefill = now;
            _tokens -= bytes;
            if (_tokens >= 0)
            {
                return ValueTask.CompletedTask;
            }

            wait = TimeSpan.FromSeconds(-_tokens / _bytesPerSecond);
        }

        return new ValueTask(Task.Delay(wait, _timeProvider, cancellationToken));
    }
}
