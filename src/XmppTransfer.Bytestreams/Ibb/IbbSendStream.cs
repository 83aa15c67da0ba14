using System.Buffers;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>
/// The sending side of one In-Band Bytestream as a write-only <see cref="Stream"/>. Writes are cut
/// into blocks of exactly the negotiated size (the last may be shorter); up to <see cref="Window"/> blocks
/// are unacknowledged at once. Call <see cref="CompleteAsync"/> to flush, wait for every ack and
/// close cleanly; disposing without completing aborts (the peer sees a close before the end).
/// </summary>
public sealed class IbbSendStream : Stream
{
    private readonly XmppSession _session;
    private readonly InBandBytestreamManager _manager;
    private readonly TimeSpan _blockTimeout;
    private readonly Queue<Task> _inFlight = new();
    private readonly byte[] _pending;
    private int _pendingLength;
    private ushort _seq;
    private int _state; // 0 open, 1 completed, 2 aborted

    /// <summary>
    /// Completes when waiting for block answers is pointless: the receiver closed, went offline, or a block was answered
    /// with an error. A receiver that died keeps the blocks it was given unanswered, and a block error means the stream is
    /// over whichever block is the oldest, so outstanding waits end here instead of after the block timeout.
    /// </summary>
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _peerClosedReason;
    private bool _peerOffline;

    /// <summary>Set when our own session ended (see <see cref="OnSessionEnded"/>); wins over every other reason.</summary>
    private BytestreamException? _sessionEnded;
    private XmppStanzaErrorException? _blockError;

    internal IbbSendStream(XmppSession session, InBandBytestreamManager manager, Jid peer, IbbOpen open, int window, TimeSpan blockTimeout)
    {
        _session = session;
        _manager = manager;
        Peer = peer;
        Open = open;
        Window = window;
        _blockTimeout = blockTimeout;
        _pending = ArrayPool<byte>.Shared.Rent(open.BlockSize);
    }

    /// <summary>Who receives.</summary>
    public Jid Peer { get; }

    /// <summary>The negotiated parameters (block size after any resource-constraint retries).</summary>
    public IbbOpen Open { get; }

    /// <summary>
    /// Blocks unacknowledged at once at most (with message stanzas: blocks between pacing pings):
    /// <see cref="InBandBytestreamOptions.Window"/> bounded by <see cref="InBandBytestreamOptions.MaxInFlightBytes"/> for the
    /// negotiated block size.
    /// </summary>
    public int Window { get; }

    /// <summary>Bytes handed to the wire so far.</summary>
    public long BytesSent { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        while (!buffer.IsEmpty)
        {
            if (_pendingLength == 0 && buffer.Length >= Open.BlockSize)
            {
                // Whole blocks go straight from the caller's buffer.
                await SendBlockAsync(buffer[..Open.BlockSize], cancellationToken).ConfigureAwait(false);
                buffer = buffer[Open.BlockSize..];
                continue;
            }

            var n = Math.Min(Open.BlockSize - _pendingLength, buffer.Length);
            buffer.Span[..n].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += n;
            buffer = buffer[n..];
            if (_pendingLength == Open.BlockSize)
            {
                await SendBlockAsync(_pending.AsMemory(0, _pendingLength), cancellationToken).ConfigureAwait(false);
                _pendingLength = 0;
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Write asynchronously.");

    /// <summary>Sends the partial block, waits for every acknowledgement, then closes the bytestream (XEP-0047 §2.3).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        if (_pendingLength > 0)
        {
            await SendBlockAsync(_pending.AsMemory(0, _pendingLength), cancellationToken).ConfigureAwait(false);
            _pendingLength = 0;
        }

        while (_inFlight.Count > 0)
        {
            await AwaitOldestAsync().ConfigureAwait(false);
        }

        ThrowIfNotOpen();
        _state = 1;
        try
        {
            // Still known to the manager while the close is answered, so the receiver going offline meanwhile ends the wait.
            var close = _session.SendIqAsync(Stanza.MakeIq(IqType.Set, Peer, IbbClose.Create(Open.Sid)), _blockTimeout, cancellationToken);

            // A receiver that answers and then leaves (slixmpp and xft exit right after the close) has its answer read before
            // its unavailable presence, and the answer completes the request as it is read: whichever task WhenAny saw
            // first, a complete close means the answer came first.
            if (await Task.WhenAny(close, _stopped.Task).ConfigureAwait(false) == close || close.IsCompleted)
            {
                await close.ConfigureAwait(false);
            }
            else
            {
                Observe(close);
                if (Volatile.Read(ref _sessionEnded) is { } ended)
                {
                    throw Rethrown(ended);
                }

                if (Volatile.Read(ref _peerOffline))
                {
                    throw UnconfirmedClose("went offline before it answered the close", null);
                }

                // Left: the receiver's own close crossed ours (it read the last byte and closed first, as XEP-0047 lets either
                // side do). It closes after it has read what it was sent (with IQs every block was also acknowledged before
                // we closed; in message mode its close is the only word), so this is a success, not a failure, and its answer
                // to our close (item-not-found, as it forgot the session) is not waited for.
            }
        }
        catch (XmppStanzaErrorException ex) when (IsOfflineCondition(ex.Error.Condition))
        {
            // The close bounced: the receiver is gone. Its answer is what says it has the end of the file (a receiver may
            // keep what arrived as a partial until the close, and in message mode no block was acknowledged at all).
            throw UnconfirmedClose($"could not be reached for the close ({ex.Error.Condition})", ex);
        }
        catch (XmppStanzaErrorException)
        {
            // Every block was acknowledged and the receiver is still there: one that already forgot the session (it closed
            // first, item-not-found) or that does not like our close has the data; not a failure.
        }
        catch (XmppException ex) when (_manager.IsSessionEnd(ex))
        {
            // Our stream went before the close was answered: as for a receiver gone, nothing says it has the end of the file.
            throw _manager.SessionEnded($"before {Peer} confirmed the end of the in-band bytestream (every block was sent; it may not have saved the file)", ex);
        }
        finally
        {
            _manager.Forget(Peer, Open.Sid, this);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await AbortAsync().ConfigureAwait(false);
        foreach (var task in _inFlight)
        {
            Observe(task);
        }

        _inFlight.Clear();
        ArrayPool<byte>.Shared.Return(_pending);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _manager.Forget(Peer, Open.Sid, this);
            if (!PeerGone || GoneByPresenceOnly)
            {
                Observe(_manager.CloseTowardsPeerAsync(Peer, Open.Sid));
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>The receiver closed the bytestream while we were sending: blocks still unanswered will not be read.</summary>
    internal void OnClosedByPeer()
    {
        Volatile.Write(ref _peerClosedReason, $"{Peer} closed the in-band bytestream before the end");
        _stopped.TrySetResult();
    }

    /// <summary>
    /// Our own XMPP session ended: no block can be sent or answered any more. Waits for block answers end now, and every later
    /// write or completion fails with <paramref name="reason"/>; no close is sent (there is no stream to send it on).
    /// </summary>
    internal void OnSessionEnded(BytestreamException reason)
    {
        Interlocked.CompareExchange(ref _sessionEnded, reason, null);
        _stopped.TrySetResult();
    }

    /// <summary>
    /// The receiver's presence went unavailable: nothing more can reach it, and the blocks it was given will never be
    /// answered (message-based IBB would not notice otherwise, IQ-based only after the block timeout).
    /// </summary>
    internal void OnPeerUnavailable()
    {
        if (_peerClosedReason is null)
        {
            // The flag first: whoever reads the reason (with acquire) sees it.
            _peerOffline = true;
            Volatile.Write(ref _peerClosedReason, $"The receiver {Peer} went offline before the end of the in-band bytestream");
        }

        _stopped.TrySetResult();
    }

    /// <summary>
    /// The receiver closed, went offline, or is unreachable by the server's word (a block bounced as
    /// <c>service-unavailable</c>, <c>recipient-unavailable</c>, <c>item-not-found</c>...), or our own session ended: a close
    /// of ours would find nobody to answer it, and only wait.
    /// </summary>
    private bool PeerGone => Volatile.Read(ref _sessionEnded) is not null || Volatile.Read(ref _peerClosedReason) is not null
        || (Volatile.Read(ref _blockError) is { } error && IsGoneCondition(error.Error.Condition));

    /// <summary>The receiver is not there any more (the server's word), as opposed to there and refusing.</summary>
    private static bool IsOfflineCondition(string condition) =>
        condition is "service-unavailable" or "recipient-unavailable" or "remote-server-not-found" or "remote-server-timeout";

    /// <summary>
    /// The send cannot be called complete: every block went out (and in IQ mode was acknowledged), but only the answer to
    /// the close says the receiver has the whole file.
    /// </summary>
    private BytestreamException UnconfirmedClose(string what, Exception? inner) => new(
        BytestreamErrorKind.Closed,
        $"The receiver {Peer} {what}: every block was sent, but it never confirmed the end of the file, so it may not have saved it.",
        inner);

    /// <summary>Only the receiver's unavailable presence says it is gone: no close of its own, no bounced block.</summary>
    private bool GoneByPresenceOnly => Volatile.Read(ref _peerOffline) && Volatile.Read(ref _blockError) is null;

    /// <summary>Nobody will answer a close: the receiver is offline, or (item-not-found) no longer has the stream.</summary>
    private static bool IsGoneCondition(string condition) => condition == "item-not-found" || IsOfflineCondition(condition);

    private async ValueTask SendBlockAsync(ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        if (_inFlight.Count >= Window)
        {
            // The caller's buffer stays untouched until this returns, so no copy is needed.
            await AwaitOldestAsync().ConfigureAwait(false);
        }

        var unacknowledged = SendNow(block.Span, cancellationToken);
        if (unacknowledged is not null)
        {
            try
            {
                await _session.SendAsync(unacknowledged, cancellationToken).ConfigureAwait(false);
            }
            catch (XmppException ex) when (_manager.IsSessionEnd(ex))
            {
                await AbortAsync().ConfigureAwait(false);
                throw SessionEndedNow(ex);
            }
        }
    }

    /// <summary>Builds the next block's stanza; IQs are sent and tracked here, a message is returned for the caller to send.</summary>
    private XElement? SendNow(ReadOnlySpan<byte> block, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        var data = IbbData.Create(Open.Sid, _seq, block);
        _seq = unchecked((ushort)(_seq + 1));
        BytesSent += block.Length;
        if (Open.Stanza == IbbStanzaKind.Iq)
        {
            _inFlight.Enqueue(TrackAsync(_session.SendIqAsync(Stanza.MakeIq(IqType.Set, Peer, data), _blockTimeout, cancellationToken)));
            return null;
        }

        var message = new XElement(Stanza.Message, new XAttribute("to", Peer.ToString()), new XAttribute("id", Stanza.NewId()), data);

        // Messages are not acknowledged: every window, a ping to our own server is the round trip
        // that keeps us from flooding it (XEP-0047 §3 leaves pacing to the sender).
        if (_seq % Window == 0)
        {
            var ping = Stanza.MakeIq(IqType.Get, null, new XElement(XName.Get("ping", Namespaces.Ping)));
            _inFlight.Enqueue(PaceAsync(ping, cancellationToken));
        }

        return message;
    }

    private async Task PaceAsync(XElement ping, CancellationToken cancellationToken)
    {
        try
        {
            await _session.SendIqAsync(ping, _blockTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException)
        {
            // A server without XEP-0199 still answered: the round trip is what we wanted.
        }
    }

    /// <summary>A block's answer; an error ends every wait at once (see <see cref="_stopped"/>), not only the wait for this block.</summary>
    private async Task TrackAsync(Task<XElement> answer)
    {
        try
        {
            await answer.ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException ex)
        {
            Interlocked.CompareExchange(ref _blockError, ex, null);
            _stopped.TrySetResult();
            throw;
        }
    }

    private async Task AwaitOldestAsync()
    {
        var oldest = _inFlight.Dequeue();
        if (!oldest.IsCompleted && await Task.WhenAny(oldest, _stopped.Task).ConfigureAwait(false) != oldest)
        {
            Observe(oldest);
            await AbortAsync().ConfigureAwait(false);
            throw Stopped(null);
        }

        try
        {
            await oldest.ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException ex)
        {
            await AbortAsync().ConfigureAwait(false);
            throw Stopped(ex);
        }
        catch (XmppException ex) when (ex.Kind == XmppErrorKind.Timeout)
        {
            await AbortAsync().ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.Timeout, $"{Peer} did not acknowledge an IBB block within {_blockTimeout.TotalSeconds:0.#} s.", ex);
        }
        catch (XmppException ex) when (_manager.IsSessionEnd(ex))
        {
            // The session's end fails the pending answers (FailPending) before the manager's sweep reaches this stream.
            await AbortAsync().ConfigureAwait(false);
            throw SessionEndedNow(ex);
        }
    }

    /// <summary>The session's end as this stream's failure: the reason the sweep gave it if it came first, else a new one.</summary>
    private BytestreamException SessionEndedNow(Exception inner) =>
        Volatile.Read(ref _sessionEnded) is { } ended
            ? Rethrown(ended)
            : _manager.SessionEnded($"before the in-band bytestream to {Peer} was complete", inner);

    /// <summary>A fresh exception for a stored reason: each throw gets its own stack trace.</summary>
    private static BytestreamException Rethrown(BytestreamException reason) => new(reason.ErrorKind, reason.Message, reason.InnerException);

    /// <summary>Why the stream stopped: the receiver's close or absence if we know of it, else the block error (<paramref name="error"/> or the first seen).</summary>
    private BytestreamException Stopped(XmppStanzaErrorException? error)
    {
        if (Volatile.Read(ref _sessionEnded) is { } ended)
        {
            return Rethrown(ended);
        }

        error ??= Volatile.Read(ref _blockError);
        if (Volatile.Read(ref _peerClosedReason) is { } reason)
        {
            return new BytestreamException(_peerOffline ? BytestreamErrorKind.Closed : BytestreamErrorKind.Cancelled, reason + ".", error);
        }

        if (error is null)
        {
            // Only the reasons above complete _stopped; kept total for safety.
            return new BytestreamException(BytestreamErrorKind.Closed, $"The in-band bytestream to {Peer} stopped.");
        }

        return error.Error.Condition switch
        {
            // A receiver that cancels answers the blocks it gets after its own close this way, and they can overtake that close.
            "item-not-found" => new BytestreamException(
                BytestreamErrorKind.Cancelled, $"{Peer} no longer has the in-band bytestream (it closed or cancelled it): an IBB block was answered with {error.Error}.", error),
            var condition when IsGoneCondition(condition) => new BytestreamException(
                BytestreamErrorKind.Closed, $"The receiver {Peer} went offline or cannot be reached: an IBB block was answered with {error.Error}.", error),
            _ => new BytestreamException(BytestreamErrorKind.Refused, $"{Peer} refused an IBB block: {error.Error}.", error),
        };
    }

    /// <summary>Ends the stream after a failure; closes it towards the receiver unless it is known to be gone (nobody would answer).</summary>
    private async Task AbortAsync()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _manager.Forget(Peer, Open.Sid, this);
            if (!PeerGone)
            {
                await _manager.CloseTowardsPeerAsync(Peer, Open.Sid).ConfigureAwait(false);
            }
            else if (GoneByPresenceOnly)
            {
                // Sent, not waited for: an unavailable presence usually means the receiver is gone (the server bounces
                // this at once), but a server also sends one for a session still connected (the contact cancelled its
                // subscription, invisibility), whose receive would otherwise wait out its inactivity timeout.
                Observe(_manager.CloseTowardsPeerAsync(Peer, Open.Sid));
            }
        }
    }

    /// <summary>Keeps an answer we no longer wait for from going unobserved when it fails later.</summary>
    private static void Observe(Task task) => _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private void ThrowIfNotOpen()
    {
        if (Volatile.Read(ref _sessionEnded) is { } ended)
        {
            throw Rethrown(ended);
        }

        if (Volatile.Read(ref _peerClosedReason) is { } reason)
        {
            throw new BytestreamException(_peerOffline ? BytestreamErrorKind.Closed : BytestreamErrorKind.Cancelled, reason + ".");
        }

        if (_state != 0)
        {
            throw new BytestreamException(BytestreamErrorKind.Closed, "The IBB stream is already closed.");
        }
    }
}
