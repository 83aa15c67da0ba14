using System.Buffers;
using System.Threading.Channels;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>
/// The receiving side of one In-Band Bytestream as a read-only <see cref="Stream"/>. Each block is
/// acknowledged only once the reader has consumed it, so a sender that waits for acknowledgements is held
/// back by its window. What is received and not yet read is capped at
/// <see cref="InBandBytestreamOptions.MaxBufferedBytes"/> in both modes (each block counted with
/// <see cref="BlockOverheadBytes"/> more): message-mode data has no acknowledgements, and a sender may send
/// data IQs without waiting for their results. Beyond it the bytestream fails; an IQ block gets
/// <c>resource-constraint</c>. Reading returns 0 after the sender's clean close; a protocol error or our own
/// failure closes the bytestream towards the sender and makes reads throw.
/// </summary>
public sealed class IbbReceiveStream : Stream
{
    /// <summary>What a block costs besides its bytes while it waits to be read (its record, an IQ waiting for its answer).</summary>
    internal const int BlockOverheadBytes = 1024;

    private readonly InBandBytestreamManager _manager;
    private readonly Channel<Block> _blocks = Channel.CreateUnbounded<Block>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TimeSpan _inactivityTimeout;
    private readonly int _maxBuffered;
    private Block? _current;
    private int _currentOffset;
    private ushort _expectedSeq;
    private long _buffered;
    private int _state; // 0 open, 1 closed by peer, 2 failed

    internal IbbReceiveStream(InBandBytestreamManager manager, Jid peer, IbbOpen open, TimeSpan inactivityTimeout, int maxBuffered)
    {
        _manager = manager;
        Peer = peer;
        Open = open;
        _inactivityTimeout = inactivityTimeout;
        _maxBuffered = maxBuffered;
    }

    /// <summary>Who sends.</summary>
    public Jid Peer { get; }

    /// <summary>The negotiated parameters.</summary>
    public IbbOpen Open { get; }

    /// <summary>Bytes received so far.</summary>
    public long BytesReceived { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_current is null)
        {
            using var inactivity = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            inactivity.CancelAfter(_inactivityTimeout);
            try
            {
                if (!await _blocks.Reader.WaitToReadAsync(inactivity.Token).ConfigureAwait(false))
                {
                    return 0;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var timeout = new BytestreamException(
                    BytestreamErrorKind.Timeout, $"No IBB data from {Peer} for {_inactivityTimeout.TotalSeconds:0.#} s.");
                await FailAsync(timeout, notifyPeer: true).ConfigureAwait(false);
                throw timeout;
            }
            catch (ChannelClosedException ex) when (ex.InnerException is BytestreamException inner)
            {
                throw new BytestreamException(inner.ErrorKind, inner.Message, inner);
            }

            _blocks.Reader.TryRead(out _current);
            _currentOffset = 0;
        }

        var block = _current!;
        var n = Math.Min(buffer.Length, block.Length - _currentOffset);
        block.Data.AsSpan(_currentOffset, n).CopyTo(buffer.Span);
        _currentOffset += n;
        if (_currentOffset == block.Length)
        {
            _current = null;
            Interlocked.Add(ref _buffered, -(block.Length + BlockOverheadBytes));
            ArrayPool<byte>.Shared.Return(block.Data);
            block.Ack?.TrySetResult(null);
        }

        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Stops receiving: closes the bytestream towards the sender (best effort) unless it already ended.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _blocks.Writer.TryComplete(new BytestreamException(BytestreamErrorKind.Cancelled, "The IBB stream was disposed."));
            await _manager.CloseTowardsPeerAsync(Peer, Open.Sid).ConfigureAwait(false);
        }

        _manager.Forget(Peer, Open.Sid, this);
        DrainPending();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _blocks.Writer.TryComplete(new BytestreamException(BytestreamErrorKind.Cancelled, "The IBB stream was disposed."));
            _ = _manager.CloseTowardsPeerAsync(Peer, Open.Sid);
            _manager.Forget(Peer, Open.Sid, this);
        }

        base.Dispose(disposing);
    }

    /// <summary>Handles one data element (on the read loop, in order). Returns the ack to send, or throws the stanza error.</summary>
    internal ValueTask<XElement?> OnData(XElement data, bool acknowledged)
    {
        if (Volatile.Read(ref _state) != 0)
        {
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound("The bytestream is closed."));
        }

        var seq = IbbData.ParseSeq(data);
        if (seq is null)
        {
            Fail("a data element without a valid seq");
            throw new XmppStanzaErrorException(StanzaError.BadRequest("seq must be 0..65535."));
        }

        if (seq.Value != _expectedSeq)
        {
            // XEP-0047 §2.2: a repeated seq is unexpected-request; a gap means lost data, and we must not process it or anything after.
            var duplicate = seq.Value == unchecked((ushort)(_expectedSeq - 1)) && BytesReceived > 0;
            Fail(duplicate ? $"a repeated block (seq {seq})" : $"a gap in the sequence (expected {_expectedSeq}, got {seq})");
            throw new XmppStanzaErrorException(StanzaError.UnexpectedRequest(duplicate ? "Duplicate seq." : "Out-of-order seq."));
        }

        var text = data.Value;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, IbbData.MaxDecodedLength(text.Length)));
        var length = IbbData.Decode(text, buffer);
        if (length < 0 || length > Open.BlockSize)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Fail(length < 0 ? "invalid base64" : $"a block of {length} bytes, larger than the agreed {Open.BlockSize}");
            throw new XmppStanzaErrorException(StanzaError.BadRequest(length < 0 ? "Invalid base64." : "Block larger than block-size."));
        }

        _expectedSeq = unchecked((ushort)(_expectedSeq + 1));
        if (length == 0)
        {
            // An empty block carries nothing, and queued it would read as the end of the stream (a read of 0 bytes).
            ArrayPool<byte>.Shared.Return(buffer);
            return ValueTask.FromResult<XElement?>(null);
        }

        BytesReceived += length;
        if (Interlocked.Add(ref _buffered, length + BlockOverheadBytes) > _maxBuffered)
        {
            // Message mode has no acknowledgements to hold the sender back; an IQ sender that does not wait for them
            // (it ignores its window) would make us hold every block it sends until the reader gets to it.
            ArrayPool<byte>.Shared.Return(buffer);
            Fail(acknowledged
                ? $"more than {_maxBuffered} bytes of blocks not yet read without waiting for their acknowledgements"
                : $"more than {_maxBuffered} unread bytes in message mode");
            return acknowledged
                ? throw new XmppStanzaErrorException(StanzaError.ResourceConstraint($"More than {_maxBuffered} bytes unread: wait for the acknowledgements."))
                : ValueTask.FromResult<XElement?>(null);
        }

        var ack = acknowledged ? new TaskCompletionSource<XElement?>(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        if (!_blocks.Writer.TryWrite(new Block(buffer, length, ack)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound("The bytestream is closed."));
        }

        return ack is null ? ValueTask.FromResult<XElement?>(null) : new ValueTask<XElement?>(ack.Task);
    }

    /// <summary>The sender closed cleanly: reads drain what is buffered, then return 0.</summary>
    internal void OnClosedByPeer()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) == 0)
        {
            _blocks.Writer.TryComplete();
        }
    }

    /// <summary>
    /// The sender's presence went unavailable without a close: fail reads now instead of after the inactivity timeout.
    /// Buffered blocks are dropped (the sender cannot be acknowledged any more); what was read is kept by the caller.
    /// </summary>
    internal void OnPeerUnavailable() =>
        _ = FailAsync(new BytestreamException(BytestreamErrorKind.Closed, $"{Peer} went offline before closing the in-band bytestream."), notifyPeer: false);

    /// <summary>
    /// Our own XMPP session ended: no block can arrive or be acknowledged any more, so reads fail now (after what is already
    /// buffered) instead of after the inactivity timeout. Nothing is sent to the sender: there is no stream to send it on.
    /// </summary>
    internal void OnSessionEnded(BytestreamException reason) => _ = FailAsync(reason, notifyPeer: false);

    /// <summary>A protocol error: fail reads and close the bytestream towards the sender.</summary>
    private void Fail(string reason)
    {
        _ = FailAsync(new BytestreamException(BytestreamErrorKind.ProtocolViolation, $"IBB from {Peer} failed: the sender sent {reason}."), notifyPeer: true);
    }

    private async Task FailAsync(BytestreamException reason, bool notifyPeer)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
        {
            return;
        }

        _manager.ReportReceiveFailure(Peer, Open.Sid, reason.Message);
        _blocks.Writer.TryComplete(reason);
        _manager.Forget(Peer, Open.Sid, this);
        if (notifyPeer)
        {
            await _manager.CloseTowardsPeerAsync(Peer, Open.Sid).ConfigureAwait(false);
        }
    }

    private void DrainPending()
    {
        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current.Data);
            _current.Ack?.TrySetException(new XmppStanzaErrorException(StanzaError.ItemNotFound("The bytestream is closed.")));
            _current = null;
        }

        while (_blocks.Reader.TryRead(out var block))
        {
            ArrayPool<byte>.Shared.Return(block.Data);
            block.Ack?.TrySetException(new XmppStanzaErrorException(StanzaError.ItemNotFound("The bytestream is closed.")));
        }
    }

    private sealed record Block(byte[] Data, int Length, TaskCompletionSource<XElement?>? Ack);
}
