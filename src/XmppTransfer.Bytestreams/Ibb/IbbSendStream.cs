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
    private string? _peerClosedReason;

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
        _manager.Forget(Peer, Open.Sid, this);
        try
        {
            await _session.SendIqAsync(Stanza.MakeIq(IqType.Set, Peer, IbbClose.Create(Open.Sid)), _blockTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException)
        {
            // Every block was acknowledged, so the data arrived; a peer that already forgot the session is not a failure.
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
        if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _manager.Forget(Peer, Open.Sid, this);
            await _manager.CloseTowardsPeerAsync(Peer, Open.Sid).ConfigureAwait(false);
        }

        foreach (var task in _inFlight)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
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
            _ = _manager.CloseTowardsPeerAsync(Peer, Open.Sid);
        }

        base.Dispose(disposing);
    }

    /// <summary>The receiver closed the bytestream while we were sending.</summary>
    internal void OnClosedByPeer() => _peerClosedReason = $"{Peer} closed the in-band bytestream before the end";

    /// <summary>The receiver's presence went unavailable: nothing more can reach it (message-based IBB would not notice otherwise).</summary>
    internal void OnPeerUnavailable() => _peerClosedReason ??= $"{Peer} went offline before the end of the in-band bytestream";

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
            await _session.SendAsync(unacknowledged, cancellationToken).ConfigureAwait(false);
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
            _inFlight.Enqueue(_session.SendIqAsync(Stanza.MakeIq(IqType.Set, Peer, data), _blockTimeout, cancellationToken));
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

    private async Task AwaitOldestAsync()
    {
        var oldest = _inFlight.Dequeue();
        try
        {
            await oldest.ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException ex)
        {
            await AbortAsync().ConfigureAwait(false);
            throw new BytestreamException(
                ex.Error.Condition == "item-not-found" && _peerClosedReason is not null ? BytestreamErrorKind.Cancelled : BytestreamErrorKind.Refused,
                _peerClosedReason ?? $"{Peer} refused an IBB block: {ex.Error}.",
                ex);
        }
        catch (XmppException ex) when (ex.Kind == XmppErrorKind.Timeout)
        {
            await AbortAsync().ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.Timeout, $"{Peer} did not acknowledge an IBB block within {_blockTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private async Task AbortAsync()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _manager.Forget(Peer, Open.Sid, this);
            await _manager.CloseTowardsPeerAsync(Peer, Open.Sid).ConfigureAwait(false);
        }
    }

    private void ThrowIfNotOpen()
    {
        if (_peerClosedReason is not null)
        {
            throw new BytestreamException(BytestreamErrorKind.Cancelled, _peerClosedReason + ".");
        }

        if (_state != 0)
        {
            throw new BytestreamException(BytestreamErrorKind.Closed, "The IBB stream is already closed.");
        }
    }
}
