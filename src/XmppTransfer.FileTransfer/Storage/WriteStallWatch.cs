namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Watches the writes of one receive, one at a time, for a hang (a dead disk or network file system): a write still in
/// progress a whole timeout after it began is given up on. Shared by the buffered receive (<see cref="FileSink"/>) and
/// the zero-copy one (<see cref="Linux.SocketFileSplice"/>). Only time inside a write counts, never a wait for the peer;
/// the byte path pays one timestamp and two compare-and-swaps per write, and a timer looks four times per timeout (at
/// least every 5 s), so a stall is noticed within the timeout plus a quarter of it, at most 5 s more.
/// </summary>
internal sealed class WriteStallWatch : IDisposable
{
    /// <summary>In <see cref="_since"/>: the write in progress was given up on. It stays so: later writes cannot clear it.</summary>
    private const long Abandoned = -1;

    private readonly TimeProvider _time;
    private readonly Action? _onStall;
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When the write in progress began (a <see cref="TimeProvider"/> timestamp), 0 between writes, or <see cref="Abandoned"/>.</summary>
    private long _since;

    /// <param name="timeout">Longest one write may take; positive.</param>
    /// <param name="time">The clock and timer of the check.</param>
    /// <param name="onStall">Runs once, on the timer's thread, before <see cref="Stall"/> completes (the owner records its failure there).</param>
    public WriteStallWatch(TimeSpan timeout, TimeProvider time, Action? onStall = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        Timeout = timeout;
        _time = time;
        _onStall = onStall;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 10, 5000));
        _timer = time.CreateTimer(static state => ((WriteStallWatch)state!).Check(), this, period, period);
    }

    public TimeSpan Timeout { get; }

    /// <summary>True once a write was given up on.</summary>
    public bool Stalled => Volatile.Read(ref _since) == Abandoned;

    /// <summary>Completes when a write is given up on (after the owner's <c>onStall</c>).</summary>
    public Task Stall => _stalled.Task;

    /// <summary>Marks a write as begun; returns its mark for <see cref="End"/>.</summary>
    public long Begin()
    {
        var since = Math.Max(1, _time.GetTimestamp());
        _ = Interlocked.CompareExchange(ref _since, since, 0);
        return since;
    }

    /// <summary>Marks the write begun at <paramref name="since"/> as over; false when it was given up on meanwhile.</summary>
    public bool End(long since) => Interlocked.CompareExchange(ref _since, 0, since) == since;

    /// <summary>Stops the timer. <see cref="Begin"/> and <see cref="End"/> still work (an abandoned write may return later).</summary>
    public void Dispose() => _timer.Dispose();

    private void Check()
    {
        var since = Volatile.Read(ref _since);
        if (since <= 0 || _time.GetElapsedTime(since) < Timeout)
        {
            return;
        }

        // Only if that very write is still in progress: one that just returned must not be taken for a stall.
        if (Interlocked.CompareExchange(ref _since, Abandoned, since) != since)
        {
            return;
        }

        try
        {
            _onStall?.Invoke();
        }
        catch (Exception)
        {
            // A timer callback must never throw (that would end the process); the stall is reported below either way.
        }

        _stalled.TrySetResult();
    }
}
