namespace XmppTransfer.FileTransfer;

/// <summary>
/// Cancels a transfer when no byte has moved for a whole timeout. Progress only stamps a time (no timer reset per
/// block, so the byte path stays cheap); a timer looks at the stamp a few times per timeout. A slow but moving
/// transfer never trips it, a silent one does within about 1.25 timeouts. Stamps and timer are on a
/// <see cref="TimeProvider"/> so tests can step a silence (or a trickle past a short grace) instead of waiting it out.
/// </summary>
internal sealed class InactivityWatchdog : IDisposable
{
    private readonly CancellationTokenSource _expired = new();
    private readonly CancellationTokenSource _linked;
    private readonly TimeProvider _time;
    private readonly ITimer? _timer;
    private long _timeoutMs;
    private long _lastProgress;
    private bool _shortened;

    /// <param name="timeout">Silence allowed; <see cref="Timeout.InfiniteTimeSpan"/> disables the watchdog.</param>
    /// <param name="cancellationToken">The caller's token, folded into <see cref="Token"/>.</param>
    /// <param name="time">The clock of the stamps and the checks; <see cref="TimeProvider.System"/> when null.</param>
    public InactivityWatchdog(TimeSpan timeout, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        Timeout = timeout;
        _time = time ?? TimeProvider.System;
        _lastProgress = _time.GetTimestamp();
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _expired.Token);
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeoutMs = (long)timeout.TotalMilliseconds;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_timeoutMs / 4, 10, 5000));
        _timer = _time.CreateTimer(static state => ((InactivityWatchdog)state!).Check(), this, period, period);
    }

    /// <summary>The silence allowed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Cancelled when the caller cancels or the transfer has been silent too long.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>True once the silence ran out (as opposed to the caller cancelling).</summary>
    public bool HasExpired => _expired.IsCancellationRequested;

    /// <summary>
    /// From now on allows only <paramref name="silence"/> without progress (when shorter than the timeout): a transfer that
    /// still moves goes on, one already silent that long ends at the next check. For a peer that is probably gone (its
    /// presence went unavailable) but may still be on the other end of the connection.
    /// </summary>
    public void Shorten(TimeSpan silence)
    {
        var ms = Math.Max(1, (long)silence.TotalMilliseconds);
        if (_timer is null || ms >= Interlocked.Read(ref _timeoutMs))
        {
            return;
        }

        Interlocked.Exchange(ref _timeoutMs, ms);
        Volatile.Write(ref _shortened, true);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(ms / 4, 10, 5000));
        try
        {
            _ = _timer.Change(TimeSpan.Zero, period);
        }
        catch (ObjectDisposedException)
        {
            // The transfer ended just now.
        }
    }

    /// <summary>True once <see cref="Shorten"/> took effect: an expiry from then on is the short silence, worded for a peer gone.</summary>
    public bool Shortened => Volatile.Read(ref _shortened);

    /// <summary>The silence allowed now (<see cref="Timeout"/>, or less after <see cref="Shorten"/>).</summary>
    public TimeSpan Allowed => _timer is null ? Timeout : TimeSpan.FromMilliseconds(Interlocked.Read(ref _timeoutMs));

    /// <summary>Records that bytes moved.</summary>
    public void Touch() => Volatile.Write(ref _lastProgress, _time.GetTimestamp());

    public void Dispose()
    {
        _timer?.Dispose();
        _linked.Dispose();
        _expired.Dispose();
    }

    private void Check()
    {
        if (_time.GetElapsedTime(Volatile.Read(ref _lastProgress)).TotalMilliseconds < Interlocked.Read(ref _timeoutMs))
        {
            return;
        }

        try
        {
            _expired.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The timer fired while the transfer was being disposed.
        }
    }
}
