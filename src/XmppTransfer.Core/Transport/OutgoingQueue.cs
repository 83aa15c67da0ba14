using System.Threading.Channels;
using System.Xml.Linq;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Transport;

/// <summary>
/// The stanzas of one stream waiting for its writer loop, bounded by their approximate size
/// (<see cref="StanzaSize"/>), so a peer that stops reading cannot make us buffer without limit.
/// <list type="bullet">
/// <item><see cref="TryEnqueue"/> never waits: a server routing between sessions and a read loop answering requests
/// must not be held up by one slow peer, so they get <see cref="EnqueueResult.Full"/> and decide.</item>
/// <item><see cref="EnqueueAsync"/> waits for room (backpressure for senders), bounded by a timeout and the caller's
/// token. Waiting senders are admitted strictly in call order, so pipelined sends (IBB blocks) keep their order.</item>
/// <item>A stanza larger than the whole limit is still taken when the queue is empty; otherwise it could never go.</item>
/// </list>
/// The queue also keeps the "stall clock": how long stanzas have been refused without the writer completing a write,
/// which is how a server tells a slow reader from a peer that does not read at all.
/// </summary>
internal sealed class OutgoingQueue
{
    private readonly Lock _lock = new();

    // Multiple readers: the writer loop, and closing, which may discard what is still queued.
    private readonly Channel<Entry> _channel = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = false });
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly int _maxBytes;
    private readonly TimeProvider _timeProvider;
    private long _queuedBytes;
    private bool _completed;
    private bool _full;
    private long _fullSince;

    public OutgoingQueue(int maxBytes, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _maxBytes = maxBytes;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Approximate bytes queued now (not counting the batch the writer is sending).</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_lock)
            {
                return _queuedBytes;
            }
        }
    }

    /// <summary>
    /// How long the queue has been refusing stanzas (or keeping senders waiting) without the writer completing a
    /// write; zero while it is not full or the peer is reading.
    /// </summary>
    public TimeSpan StalledFor
    {
        get
        {
            lock (_lock)
            {
                return _full ? _timeProvider.GetElapsedTime(_fullSince) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>Queues the stanza if there is room; never waits.</summary>
    public EnqueueResult TryEnqueue(XElement stanza)
    {
        var size = StanzaSize.Estimate(stanza);
        lock (_lock)
        {
            if (_completed)
            {
                return EnqueueResult.Closed;
            }

            if (!Fits(size))
            {
                MarkFullLocked();
                return EnqueueResult.Full;
            }

            AddLocked(new Entry(stanza, size));
            return EnqueueResult.Queued;
        }
    }

    /// <summary>
    /// Queues the stanza, waiting while the queue is full: at most <paramref name="timeout"/> (then an
    /// <see cref="XmppException"/> of kind <see cref="XmppErrorKind.Timeout"/>) or until
    /// <paramref name="cancellationToken"/> is cancelled. Throws <see cref="XmppConnectionException"/> when the stream
    /// is closed or closes while waiting.
    /// </summary>
    public ValueTask EnqueueAsync(XElement stanza, TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var size = StanzaSize.Estimate(stanza);
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            if (_completed)
            {
                throw ClosedException();
            }

            // Earlier waiters go first: a sender that finds room while others wait would overtake them.
            if (_waiters.Count == 0 && Fits(size))
            {
                AddLocked(new Entry(stanza, size));
                return ValueTask.CompletedTask;
            }

            MarkFullLocked();
            node = _waiters.AddLast(new Waiter(new Entry(stanza, size)));
        }

        return WaitForRoomAsync(node, timeout, cancellationToken);
    }

    /// <summary>Waits until a stanza is queued; false once the queue is completed and empty.</summary>
    public ValueTask<bool> WaitToReadAsync() => _channel.Reader.WaitToReadAsync();

    /// <summary>Takes the next stanza for the writer loop, making room for waiting senders.</summary>
    public bool TryDequeue(out XElement stanza)
    {
        if (!_channel.Reader.TryRead(out var entry))
        {
            stanza = null!;
            return false;
        }

        lock (_lock)
        {
            _queuedBytes -= entry.Size;
            AdmitWaitersLocked();
        }

        stanza = entry.Stanza;
        return true;
    }

    /// <summary>The writer completed a socket write: the peer is reading, so the stall clock restarts.</summary>
    public void OnWritten()
    {
        lock (_lock)
        {
            _full = false;
        }
    }

    /// <summary>
    /// Takes no more stanzas. <paramref name="last"/> (a stream error) is queued regardless of the limit, after what is
    /// queued or, with <paramref name="discardQueued"/>, instead of it: a peer that does not read would otherwise never
    /// get to it. Waiting senders fail with <paramref name="reason"/> (default: the stream is closed).
    /// </summary>
    public void Complete(XElement? last = null, bool discardQueued = false, Exception? reason = null)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (discardQueued)
            {
                while (_channel.Reader.TryRead(out var entry))
                {
                    _queuedBytes -= entry.Size;
                }
            }

            if (last is not null)
            {
                AddLocked(new Entry(last, StanzaSize.Estimate(last)));
            }

            _channel.Writer.TryComplete();

            // Failed inside the lock so that a waiter timing out at the same moment sees its outcome settled.
            var exception = reason ?? ClosedException();
            foreach (var waiter in _waiters)
            {
                waiter.Admitted.TrySetException(exception);
            }

            _waiters.Clear();
        }
    }

    private static XmppConnectionException ClosedException() => new(XmppErrorKind.Closed, "The XMPP stream is closed.");

    private async ValueTask WaitForRoomAsync(LinkedListNode<Waiter> node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            await node.Value.Admitted.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            bool settled;
            lock (_lock)
            {
                settled = node.List is null;
                if (!settled)
                {
                    _waiters.Remove(node);

                    // The one leaving may have been the head that did not fit; the next one might.
                    AdmitWaitersLocked();
                }
            }

            if (settled)
            {
                // Admitted (or failed by Complete) in the same instant: what happened to the stanza is the answer.
                await node.Value.Admitted.Task.ConfigureAwait(false);
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new XmppException(
                XmppErrorKind.Timeout,
                $"The outgoing queue stayed full for {timeout.TotalSeconds:0.#} s: the peer is not reading what we send.");
        }
    }

    private bool Fits(int size) => _queuedBytes == 0 || _queuedBytes + size <= _maxBytes;

    private void AddLocked(Entry entry)
    {
        _queuedBytes += entry.Size;
        _channel.Writer.TryWrite(entry);
    }

    private void MarkFullLocked()
    {
        if (!_full)
        {
            _full = true;
            _fullSince = _timeProvider.GetTimestamp();
        }
    }

    private void AdmitWaitersLocked()
    {
        while (!_completed && _waiters.First is { } head && Fits(head.Value.Entry.Size))
        {
            _waiters.RemoveFirst();
            AddLocked(head.Value.Entry);
            head.Value.Admitted.TrySetResult();
        }
    }

    private readonly record struct Entry(XElement Stanza, int Size);

    private sealed class Waiter(Entry entry)
    {
        public Entry Entry { get; } = entry;

        public TaskCompletionSource Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
