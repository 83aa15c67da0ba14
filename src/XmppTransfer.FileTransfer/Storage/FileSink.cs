using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Appends received blocks to a file in order while hashing them on another thread, so that reading the next block from
/// the network, writing this one and hashing it all overlap (on a two-core machine SHA-256 alone runs at about 40 % of
/// loopback TCP; in line with the writes it would halve the rate). Memory is fixed: <c>depth</c> pooled buffers.
/// A buffer goes back to the free list only when both the writer and the hasher are done with it.
/// A write that does not return within the stall timeout (a hung disk or network file system) fails the sink: waits on it
/// end with a <see cref="FileTransferException"/> of kind LocalIo instead of hanging with the write, and the buffers the
/// stuck write may still read are left to the garbage collector instead of going back to the pool. A cancelled
/// <see cref="CompleteAsync"/> gives up on such a write the same way after <see cref="WriteStallWatch.CancelGrace"/>
/// instead of the stall timeout, and then fails with the cancel.
/// </summary>
internal sealed class FileSink : IAsyncDisposable
{
    private readonly SafeFileHandle _file;
    private readonly string _displayName;
    private readonly IncrementalHash? _sha256;
    private readonly IncrementalHash? _md5;
    private readonly byte[][] _buffers;
    private readonly int[] _counts;
    private readonly int[] _holders;
    private readonly int _stages;
    private readonly Channel<int> _free;
    private readonly Channel<int> _toWrite = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<int>? _toHash;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private readonly Task _hasher;
    /// <summary>What <see cref="StallTask"/> is without a stall timeout: a task that never completes.</summary>
    private static readonly Task s_never = new TaskCompletionSource().Task;

    private readonly WriteStallWatch? _watch;
    private readonly Func<ReadOnlyMemory<byte>, long, CancellationToken, ValueTask> _write;
    private ExceptionDispatchInfo? _failure;

    /// <summary>The token of the <see cref="CompleteAsync"/> that was cancelled, for the failure of a write given up on then.</summary>
    private CancellationToken _cancelledBy;
    private long _position;
    private int _completed;
    private int _disposed;

    /// <param name="file">Opened for writing; the sink writes at explicit offsets and never moves the file's position.</param>
    /// <param name="position">Where the first block goes (the resume offset).</param>
    /// <param name="displayName">The file's name for error messages.</param>
    /// <param name="sha256">Fed every block in order, when not null.</param>
    /// <param name="md5">Fed every block in order, when not null.</param>
    /// <param name="bufferSize">Bytes per buffer.</param>
    /// <param name="depth">Buffers in the ring: blocks read ahead of the slower of writer and hasher.</param>
    /// <param name="stallTimeout">Longest one write may take; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="write">Writes at an offset instead of <see cref="RandomAccess"/> (tests: a disk that never answers).</param>
    /// <param name="time">The stall check's clock and timer; <see cref="TimeProvider.System"/> when null.</param>
    public FileSink(
        SafeFileHandle file,
        long position,
        string displayName,
        IncrementalHash? sha256,
        IncrementalHash? md5,
        int bufferSize,
        int depth = 4,
        TimeSpan? stallTimeout = null,
        Func<ReadOnlyMemory<byte>, long, CancellationToken, ValueTask>? write = null,
        TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 2);
        _file = file;
        _write = write ?? ((data, offset, token) => RandomAccess.WriteAsync(_file, data, offset, token));
        _position = position;
        _displayName = displayName;
        _sha256 = sha256;
        _md5 = md5;
        _buffers = new byte[depth][];
        _counts = new int[depth];
        _holders = new int[depth];
        _free = Channel.CreateBounded<int>(new BoundedChannelOptions(depth) { SingleReader = true });
        for (var i = 0; i < depth; i++)
        {
            _buffers[i] = ArrayPool<byte>.Shared.Rent(bufferSize);
            _free.Writer.TryWrite(i);
        }

        _stages = sha256 is null && md5 is null ? 1 : 2;
        _toHash = _stages == 2 ? Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }) : null;
        _writer = Task.Run(WriteLoopAsync);
        _hasher = _toHash is null ? Task.CompletedTask : Task.Run(HashLoopAsync);
        var stall = stallTimeout ?? Timeout.InfiniteTimeSpan;
        if (stall != Timeout.InfiniteTimeSpan)
        {
            _watch = new WriteStallWatch(stall, time ?? TimeProvider.System, OnStall);
        }
    }

    /// <summary>
    /// True once a write was given up on (it took longer than the stall timeout, or than the cancel grace after a cancel):
    /// the file must not be touched again (it would hang too).
    /// </summary>
    public bool Stalled => _watch?.Stalled == true;

    /// <summary>
    /// After a write was given up on (<see cref="Stalled"/>): ends when the writer left in it has come back and stopped
    /// (tests wait for it). Null until then.
    /// </summary>
    public Task? AbandonedWrite => Stalled ? _writer : null;

    /// <summary>Completes when a write stalls; never without a stall timeout.</summary>
    private Task StallTask => _watch?.Stall ?? s_never;

    /// <summary>Bytes of one buffer (at least the size asked for).</summary>
    public int BufferSize => _buffers[0].Length;

    /// <summary>The file offset after the last block written so far.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>
    /// Waits for a buffer that neither the writer nor the hasher still uses. A failed write (disk full, I/O error)
    /// surfaces here, on the next call, as a <see cref="FileTransferException"/> of kind LocalIo.
    /// </summary>
    public async ValueTask<byte[]> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _failure?.Throw();
        try
        {
            return _buffers[await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false)];
        }
        catch (ChannelClosedException)
        {
            _failure?.Throw();
            throw new ObjectDisposedException(nameof(FileSink));
        }
    }

    /// <summary>Hands the first <paramref name="count"/> bytes of a rented buffer to the writer (and the hasher), in call order.</summary>
    public void Commit(byte[] buffer, int count)
    {
        var slot = Array.IndexOf(_buffers, buffer);
        if (slot < 0)
        {
            throw new ArgumentException("The buffer was not rented from this sink.", nameof(buffer));
        }

        if (count <= 0)
        {
            _free.Writer.TryWrite(slot);
            return;
        }

        _counts[slot] = count;
        _holders[slot] = _stages;
        _toWrite.Writer.TryWrite(slot);
        _toHash?.Writer.TryWrite(slot);
    }

    /// <summary>
    /// Waits until every committed block is written and hashed; throws the first failure. Cancelling does not drop the
    /// committed blocks (a receive that stops keeps every byte it took): the writes go on, each now bounded by
    /// <see cref="WriteStallWatch.CancelGrace"/>, and one that outlasts it is given up on as a stall is (<see cref="Stalled"/>),
    /// ending this with an <see cref="OperationCanceledException"/>. Without a stall timeout a cancel changes nothing.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _toWrite.Writer.TryComplete();
            _toHash?.Writer.TryComplete();
        }

        // A stalled write never returns: the stall's failure is the answer, not the write. A cancel cannot reach a thread
        // stuck in the disk either; it only shortens the watch's bound, so the wait below ends by a stall soon enough.
        var cancel = default(CancellationTokenRegistration);
        if (_watch is not null && cancellationToken.CanBeCanceled)
        {
            cancel = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var sink = (FileSink)state!;
                    sink._cancelledBy = token;
                    sink._watch!.Cancel();
                },
                this);
        }

        await using (cancel.ConfigureAwait(false))
        {
            await Task.WhenAny(Task.WhenAll(_writer, _hasher), StallTask).ConfigureAwait(false);
        }

        _failure?.Throw();
    }

    /// <summary>Stops the writer and hasher (uncommitted work is dropped) and returns the buffers to the pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _free.Writer.TryComplete();
        _toWrite.Writer.TryComplete();
        _toHash?.Writer.TryComplete();
        if (Volatile.Read(ref _completed) == 0)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        // The loops observe their own failures; the buffers must not go back to the pool while one still runs. A stalled
        // write may finish some day and still read its buffer, so after a stall they stay out of the pool.
        var loops = Task.WhenAll(_writer, _hasher);
        await Task.WhenAny(loops, StallTask).ConfigureAwait(false);
        _watch?.Dispose();

        if (!loops.IsCompleted)
        {
            return;
        }

        foreach (var buffer in _buffers)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _stop.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var slot in _toWrite.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var count = _counts[slot];
                var since = _watch?.Begin() ?? 0;
                Exception? error = null;
                try
                {
                    await _write(_buffers[slot].AsMemory(0, count), _position, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    error = ex;
                }

                // A write that failed is not a write that hangs: the stall check looks only at one in progress. One given up
                // on (a stall or a cancel) that returns at last touches nothing more: blocks still queued are not written
                // (the file is left as it was when it was given up on), the position stays what the failure reported, and
                // its buffer stays out of the free list (nobody rents again).
                if (_watch?.End(since) == false)
                {
                    return;
                }

                if (error is not null)
                {
                    ExceptionDispatchInfo.Throw(error);
                }

                Interlocked.Add(ref _position, count);
                Release(slot, 1);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Whatever it is, the receive loop must hear of it (a silent writer would leave it waiting for a buffer for ever).
            Fail(new FileTransferException(FileTransferErrorKind.LocalIo, $"Writing {_displayName} failed after {Position} bytes: {ex.Message}", ex));
        }
    }

    private async Task HashLoopAsync()
    {
        try
        {
            await foreach (var slot in _toHash!.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                _sha256?.AppendData(_buffers[slot], 0, _counts[slot]);
                _md5?.AppendData(_buffers[slot], 0, _counts[slot]);
                Release(slot, 1);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Fail(new FileTransferException(FileTransferErrorKind.LocalIo, $"Hashing {_displayName} failed: {ex.Message}", ex));
        }
    }

    private void Release(int slot, int stages)
    {
        if (Interlocked.Add(ref _holders[slot], -stages) <= 0)
        {
            _free.Writer.TryWrite(slot);
        }
    }

    private void Fail(Exception failure)
    {
        Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(failure), null);
        _free.Writer.TryComplete(failure);
        _stop.Cancel();
    }

    /// <summary>
    /// The watch gave up on a write: fails the sink, before the waits on <see cref="StallTask"/> wake. After a cancel that
    /// is the cancel: the receive stops because the user asked, the disk only kept it from stopping sooner.
    /// </summary>
    private void OnStall() => Fail(_watch!.Cancelled
        ? new OperationCanceledException(
            $"Cancelled while writing {_displayName} hung after {Position} bytes; the write was given up on and the file left as it is.",
            _cancelledBy)
        : new FileTransferException(
            FileTransferErrorKind.LocalIo,
            $"Writing {_displayName} stalled: the disk took no data for {_watch.Timeout.TotalMilliseconds / 1000.0:0.#} s after {Position} bytes."));
}
