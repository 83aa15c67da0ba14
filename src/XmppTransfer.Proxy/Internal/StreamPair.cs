namespace XmppTransfer.Proxy.Internal;

/// <summary>
/// The legs sharing one DST.ADDR. State fields are guarded by the proxy's pair lock; the byte and
/// activity counters are updated with Interlocked/Volatile by the relay.
/// </summary>
internal sealed class StreamPair(string dstAddr, ProxyConnection target) : IDisposable
{
    private long _bytesRelayed;
    private long _lastActivity;

    public string DstAddr { get; } = dstAddr;

    /// <summary>The first connection: by XEP-0065 convention the Target.</summary>
    public ProxyConnection Target { get; } = target;

    /// <summary>The second connection: the Requester.</summary>
    public ProxyConnection? Requester { get; set; }

    public PairState State { get; set; } = PairState.OneLeg;

    /// <summary>Cancelled when the pair closes: stops the monitors and the relay.</summary>
    public CancellationTokenSource Lifetime { get; } = new();

    /// <summary>Cancelled at activation (or close): stops the pre-activation monitors.</summary>
    public CancellationTokenSource Monitoring { get; } = new();

    /// <summary>Unpaired, then unactivated deadline, then the idle check.</summary>
    public ITimer? Timer { get; set; }

    public TokenBucket? Shaper { get; set; }

    /// <summary>Set at activation: told once when the pair closes.</summary>
    public Action<ProxyCloseReason>? Closed { get; set; }

    public long BytesRelayed => Volatile.Read(ref _bytesRelayed);

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public long AddBytes(long count) => Interlocked.Add(ref _bytesRelayed, count);

    public void Touch(long timestamp) => Volatile.Write(ref _lastActivity, timestamp);

    /// <summary>
    /// Stops the timer. The token sources own no timer or wait handle, so they are left to the GC:
    /// relay and monitor operations may still hold their tokens while the pair is torn down.
    /// </summary>
    public void Dispose() => Timer?.Dispose();
}
