namespace XmppTransfer.Testing;

/// <summary>A timer of a <see cref="ManualTimeProvider"/> with manual timers: fires only when the provider's clock is advanced past it.</summary>
internal sealed class ManualTimer(ManualTimeProvider provider, TimerCallback callback, object? state) : ITimer
{
    private long _periodTicks;

    /// <summary>Timestamp (ticks of the provider) it fires at; meaningful only while <see cref="IsArmed"/>.</summary>
    public long DueTicks { get; private set; }

    public bool IsArmed { get; private set; }

    private bool _disposed;

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        Action? armed;

        // One step with the armed set's update: an Advance on another thread sees the timer either before or after.
        lock (provider.Gate)
        {
            if (_disposed)
            {
                return false;
            }

            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                IsArmed = false;
            }
            else
            {
                DueTicks = provider.GetTimestamp() + Math.Max(0, dueTime.Ticks);
                _periodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
                IsArmed = true;
            }

            armed = provider.UpdateLocked(this);
        }

        armed?.Invoke();
        return true;
    }

    /// <summary>Called by the provider, under its lock, with its clock at <see cref="DueTicks"/>: re-arms a periodic timer.</summary>
    public void Fired()
    {
        if (_periodTicks == 0)
        {
            IsArmed = false;
        }
        else
        {
            DueTicks += _periodTicks;
        }
    }

    public void Invoke() => callback(state);

    public void Dispose()
    {
        Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (provider.Gate)
        {
            _disposed = true;
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
