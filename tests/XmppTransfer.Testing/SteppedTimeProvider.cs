namespace XmppTransfer.Testing;

/// <summary>
/// A clock whose time and timers move only when the test calls <see cref="Advance"/>: time steps from one due timer to
/// the next, and each fires on the caller's thread before <see cref="Advance"/> returns, so a test knows a timer's look
/// has happened without waiting for it. (<see cref="ManualTimeProvider"/> moves only the time; its timers are real.)
/// </summary>
public sealed class SteppedTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<SteppedTimer> _timers = [];
    private long _ticks = TimeSpan.TicksPerDay;
    private int _fired;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Timer callbacks run so far.</summary>
    public int Fired => Volatile.Read(ref _fired);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SteppedTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the time on by <paramref name="by"/>, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        var target = GetTimestamp() + by.Ticks;
        while (true)
        {
            SteppedTimer? next = null;
            lock (_gate)
            {
                foreach (var timer in _timers)
                {
                    if (timer.DueAt <= target && (next is null || timer.DueAt < next.DueAt))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    Interlocked.Exchange(ref _ticks, target);
                    return;
                }

                Interlocked.Exchange(ref _ticks, Math.Max(GetTimestamp(), next.DueAt));
                next.DueAt = next.Period > 0 ? next.DueAt + next.Period : long.MaxValue;
            }

            // Outside the lock: a callback may create, change or dispose timers.
            next.Callback(next.State);
            Interlocked.Increment(ref _fired);
        }
    }

    private sealed class SteppedTimer(SteppedTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback => callback;

        public object? State => state;

        /// <summary>Timestamp of the next firing; <see cref="long.MaxValue"/> when off. Under the clock's lock.</summary>
        public long DueAt { get; set; } = long.MaxValue;

        /// <summary>Ticks between firings; 0 fires once. Under the clock's lock.</summary>
        public long Period { get; private set; }

        private bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                if (Disposed)
                {
                    return false;
                }

                if (!clock._timers.Contains(this))
                {
                    clock._timers.Add(this);
                }

                DueAt = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : clock.GetTimestamp() + dueTime.Ticks;
                Period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            }

            return true;
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                Disposed = true;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
