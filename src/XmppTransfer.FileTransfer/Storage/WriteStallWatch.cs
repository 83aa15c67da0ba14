namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Watches the writes of one receive, one at a time, for a hang (a dead disk or network file system): a write still in
/// progress a whole timeout after it began is given up on. Shared by the buffered receive (<see cref="FileSink"/>) and
/// the zero-copy one (<see cref="Linux.SocketFileSplice"/>). Only time inside a write counts, never a wait for the peer;
/// the byte path pays one timestamp and two compare-and-swaps per write, and a timer looks four times per timeout (at
/// least every 5 s), so a stall is noticed within the timeout plus a quarter of it, at most 5 s more.
/// A cancelled receive cannot wait that long for a write that may never return, nor interrupt it: after
/// <see cref="Cancel"/> the bound is <see cref="CancelGrace"/> instead, so a hung write is given up on within about a
/// second while one that is merely in progress (milliseconds into the page cache) still finishes, and the owner cuts
/// the file to its bytes as it always did.
/// </summary>
internal sealed class WriteStallWatch : IDisposable
{
    /// <summary>In <see cref="_since"/>: the write in progress was given up on. It stays so: later writes cannot clear it.</summary>
    private const long Abandoned = -1;

    /// <summary>
    /// After <see cref="Cancel"/>, longest one write may take (or <see cref="Timeout"/> when shorter). A write to a working
    /// disk returns in milliseconds, one to a slow one in well under this; giving up on one that would have returned costs
    /// only an uncut part (the bytes past it are received again on resume), whereas a longer grace is felt on every Ctrl-C
    /// over a hung disk.
    /// </summary>
    public static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly Action? _onStall;
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When the write in progress began (a <see cref="TimeProvider"/> timestamp), 0 between writes, or <see cref="Abandoned"/>.</summary>
    private long _since;

    /// <summary>1 once <see cref="Cancel"/> was called.</summary>
    private int _cancelled;

    /// <param name="timeout">Longest one write may take; positive.</param>
    /// <param name="time">The clock and timer of the check.</param>
    /// <param name="onStall">Runs once, on the timer's thread, before <see cref="Stall"/> completes (the owner records its failure there).</param>
    public WriteStallWatch(TimeSpan timeout, TimeProvider time, Action? onStall = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        Timeout = timeout;
        _time = time;
        _onStall = onStall;
        var period = CheckPeriod(timeout);
        _timer = time.CreateTimer(static state => ((WriteStallWatch)state!).Check(), this, period, period);
    }

    public TimeSpan Timeout { get; }

    /// <summary>
    /// True once <see cref="Cancel"/> was called. Read in the owner's <c>onStall</c>: a write given up on after a cancel is
    /// reported as the cancel, not as a disk failure.
    /// </summary>
    public bool Cancelled => Volatile.Read(ref _cancelled) != 0;

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

    /// <summary>
    /// The receive was cancelled: from now on a write (the one in progress, or a later one) is given up on once it has
    /// taken <see cref="CancelGrace"/>, at once if the one in progress already has. Nothing can interrupt the write itself,
    /// so this is the only way a cancel can end a receive stuck in one without waiting out the whole timeout. Safe to call
    /// from a cancellation callback, more than once, and after <see cref="Dispose"/> (then it does nothing).
    /// </summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _cancelled, 1) != 0)
        {
            return;
        }

        // A first check right away on the timer's thread (where onStall always runs, never the canceller's), then as often
        // as the shorter bound needs.
        var period = CheckPeriod(Limit);
        try
        {
            _ = _timer.Change(TimeSpan.Zero, period);
        }
        catch (ObjectDisposedException)
        {
            // The watch is over: no write of it is left to give up on.
        }
    }

    /// <summary>Stops the timer. <see cref="Begin"/> and <see cref="End"/> still work (an abandoned write may return later).</summary>
    public void Dispose() => _timer.Dispose();

    /// <summary>How long a write may take now: the timeout, or after a cancel the grace when it is shorter.</summary>
    private TimeSpan Limit => Cancelled && CancelGrace < Timeout ? CancelGrace : Timeout;

    /// <summary>Four looks per bound, at least every 5 s and at most every 10 ms.</summary>
    private static TimeSpan CheckPeriod(TimeSpan bound) => TimeSpan.FromMilliseconds(Math.Clamp(bound.TotalMilliseconds / 4, 10, 5000));

    private void Check()
    {
        var since = Volatile.Read(ref _since);
        if (since <= 0 || _time.GetElapsedTime(since) < Limit)
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
