namespace XmppTransfer.Testing;

/// <summary>
/// A clock that moves only when the test says so. Its timers run on the system clock, unless it was made with
/// <c>manualTimers</c>: then they fire only when <see cref="Advance"/> passes their due time, so a test steps through
/// delays (a retry after 20 s) without waiting for them, and learns that code has started one from
/// <see cref="WhenTimerArmedAsync"/> instead of sleeping; a test also knows a timer's callback has run once
/// <see cref="Advance"/> returns.
/// </summary>
public sealed class ManualTimeProvider(bool manualTimers = false) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _armed = [];
    private TaskCompletionSource? _armedSignal;
    private TaskCompletionSource<TimeSpan>? _nextArmed;
    private long _ticks = TimeSpan.TicksPerDay;
    private int _fired;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    /// <summary>With manual timers: how long until the earliest armed timer fires; null when none is armed.</summary>
    public TimeSpan? NextTimerDue
    {
        get
        {
            lock (_gate)
            {
                return _armed.Count == 0 ? null : TimeSpan.FromTicks(_armed.Min(t => t.DueTicks) - GetTimestamp());
            }
        }
    }

    /// <summary>With manual timers: how many are armed (started, not fired, not stopped).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate)
            {
                return _armed.Count;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (!manualTimers)
        {
            return base.CreateTimer(callback, state, dueTime, period);
        }

        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>With manual timers: completes when at least one is armed (at once if one is already). Cap it with WaitAsync.</summary>
    public Task WhenTimerArmedAsync()
    {
        lock (_gate)
        {
            if (_armed.Count > 0)
            {
                return Task.CompletedTask;
            }

            _armedSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _armedSignal.Task;
        }
    }

    /// <summary>
    /// With manual timers: completes when a timer is next armed (started or changed) after this call, with how long it then
    /// has until it fires; for code that keeps other timers armed, where <see cref="WhenTimerArmedAsync"/> would complete at
    /// once. Call it before the action that arms the timer; cap it with WaitAsync.
    /// </summary>
    public Task<TimeSpan> NextTimerArmedAsync()
    {
        lock (_gate)
        {
            _nextArmed ??= new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _nextArmed.Task;
        }
    }

    /// <summary>With manual timers: timer callbacks run so far.</summary>
    public int Fired => Volatile.Read(ref _fired);

    /// <summary>
    /// Moves the clock by <paramref name="by"/>. With manual timers it steps from one due timer to the next, firing each (on
    /// this thread, in due order, a periodic one once per period passed) with the clock at its due time, so a check that
    /// looks every 250 ms looks 40 times in an Advance of 10 s, as it would in real time.
    /// </summary>
    public void Advance(TimeSpan by)
    {
        var target = GetTimestamp() + by.Ticks;
        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _armed.Where(t => t.DueTicks <= target).MinBy(t => t.DueTicks);
                if (due is null)
                {
                    Interlocked.Exchange(ref _ticks, target);
                    return;
                }

                Interlocked.Exchange(ref _ticks, Math.Max(GetTimestamp(), due.DueTicks));
                _armed.Remove(due);
                due.Fired();
                if (due.IsArmed)
                {
                    _armed.Add(due);
                }
            }

            // Outside the lock: the callback may arm or stop timers (Task.Delay's continuation can run right here).
            due.Invoke();
            Interlocked.Increment(ref _fired);
        }
    }

    /// <summary>
    /// A timer's (re)arming or stop, under <see cref="Gate"/>: it joins or leaves the armed set. Returns what completes
    /// the waits of <see cref="WhenTimerArmedAsync"/> and <see cref="NextTimerArmedAsync"/>, to run once the lock is let
    /// go, if it armed one and someone waits.
    /// </summary>
    internal Action? UpdateLocked(ManualTimer timer)
    {
        _armed.Remove(timer);
        if (!timer.IsArmed)
        {
            return null;
        }

        _armed.Add(timer);
        var signal = _armedSignal;
        var next = _nextArmed;
        _armedSignal = null;
        _nextArmed = null;
        if (signal is null && next is null)
        {
            return null;
        }

        var due = TimeSpan.FromTicks(timer.DueTicks - GetTimestamp());
        return () =>
        {
            signal?.TrySetResult();
            next?.TrySetResult(due);
        };
    }

    internal Lock Gate => _gate;
}
