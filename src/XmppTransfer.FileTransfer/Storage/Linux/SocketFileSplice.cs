using System.Buffers;
using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// Moves bytes from a connected socket into a file without them entering the process: splice(2) socket -> pipe (the
/// socket's pages are referenced, not copied) and pipe -> file (one copy, into the page cache). The user-space path
/// copies twice (socket -> buffer -> page cache); on a 2-core machine that extra copy is what stands between a
/// loopback transfer and the TCP ceiling. It has nowhere to hash the bytes, so it is only for receives that hash nothing.
/// One instance owns one pipe and serves one receive; not thread-safe.
/// The pipe -> file splice writes to the disk and cannot be interrupted: with a stall timeout, one that does not return in
/// time (a hung disk or network file system) fails the move as the buffered path's <see cref="FileSink"/> does, and the
/// thread stuck in it is left behind. When that call returns at last, the thread touches nothing more (no further write,
/// no socket, no progress), and the pipe it still reads from is closed only then, never under it. The caller's cancel
/// cannot interrupt that call either: it shortens the bound to <see cref="WriteStallWatch.CancelGrace"/>, so a hung call is
/// left behind in the same way within about a second, and the move ends as cancelled.
/// </summary>
internal sealed class SocketFileSplice : IDisposable
{
    /// <summary>The pipe we ask for: one splice moves up to this much (unprivileged processes may get 1 MiB by default).</summary>
    private const int WantedPipeBytes = 1 << 20;

    /// <summary>Bytes moved between two yields of the thread while data keeps coming.</summary>
    private const long YieldEvery = 64L << 20;

    private readonly int _pipeRead;
    private readonly int _pipeWrite;
    private readonly int _pipeBytes;
    private readonly TimeSpan _stallTimeout;
    private readonly TimeProvider _time;
    private readonly FileSpliceCall? _fileSplice;

    /// <summary>Watches the file-side calls of a move with a stall timeout; null otherwise. Waits for the peer are not watched.</summary>
    private WriteStallWatch? _watch;

    /// <summary>The owner's hold on the pipe, and one more while an abandoned move's thread may still use it.</summary>
    private int _pipeHolds = 1;
    private int _disposed;

    private SocketFileSplice(SpliceNative.PipeEnds ends, int pipeBytes, TimeSpan stallTimeout, TimeProvider time, FileSpliceCall? fileSplice)
    {
        _pipeRead = ends.Read;
        _pipeWrite = ends.Write;
        _pipeBytes = pipeBytes;
        _stallTimeout = stallTimeout;
        _time = time;
        _fileSplice = fileSplice;
    }

    /// <summary>Bytes that reached the file so far (from the offset given to <see cref="MoveAsync"/>).</summary>
    public long Moved { get; private set; }

    /// <summary>
    /// True once a file-side call was given up on (it took longer than the stall timeout, or than the cancel grace after a
    /// cancel): the move failed without it, and the file must not be touched again (cutting it would hang too; its length covers only bytes written in order, so it is a prefix to resume from).
    /// </summary>
    public bool Stalled => _watch?.Stalled == true;

    /// <summary>
    /// After a stall: ends when the thread left in the stuck call has come back and stopped (tests wait for it). Null
    /// until then.
    /// </summary>
    public Task? AbandonedMove { get; private set; }

    /// <summary>A splice with its pipe, or null where the system cannot do it (not Linux, no glibc, no descriptors left).</summary>
    /// <param name="stallTimeout">Longest one pipe -> file splice may take; null or <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="time">The stall check's clock and timer; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="fileSplice">Replaces the file-side call (<see cref="SpliceToFile"/>); tests only.</param>
    public static SocketFileSplice? TryCreate(TimeSpan? stallTimeout = null, TimeProvider? time = null, FileSpliceCall? fileSplice = null)
    {
        var stall = stallTimeout ?? Timeout.InfiniteTimeSpan;
        if (stall != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stall, TimeSpan.Zero, nameof(stallTimeout));
        }

        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            if (!SpliceNative.TryCreatePipe(out var ends))
            {
                return null;
            }

            try
            {
                var size = SpliceNative.ResizePipe(ends.Write, WantedPipeBytes);
                return new SocketFileSplice(ends, size > 0 ? size : 65536, stall, time ?? TimeProvider.System, fileSplice);
            }
            catch
            {
                _ = SpliceNative.Close(ends.Read);
                _ = SpliceNative.Close(ends.Write);
                throw;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Moves up to <paramref name="count"/> bytes from <paramref name="socket"/> into <paramref name="file"/> at
    /// <paramref name="offset"/> onwards, and never reads past them (the peer's close may follow, or nothing).
    /// </summary>
    /// <param name="socket">Connected; the wait for data is an ordinary zero-byte receive, so the socket stays usable.</param>
    /// <param name="file">Opened for writing, not for appending; its own position is not used.</param>
    /// <param name="offset">Where the first byte goes.</param>
    /// <param name="count">Bytes wanted.</param>
    /// <param name="displayName">The file's name for error messages.</param>
    /// <param name="onMoved">Called with <see cref="Moved"/> after every block written.</param>
    /// <param name="waitToken">Bounds each wait for the peer (the caller's inactivity watchdog and cancellation).</param>
    /// <param name="cancellationToken">
    /// The caller's own cancel. With a stall timeout it also bounds a file-side call in progress, by
    /// <see cref="WriteStallWatch.CancelGrace"/>: one that outlasts it is given up on as a stall is. Not the watchdog's
    /// token: a peer that goes quiet while our disk hangs is the disk's fault, reported as a stall.
    /// </param>
    /// <returns>
    /// <see cref="SpliceOutcome.Done"/> (all bytes here), <see cref="SpliceOutcome.Ended"/> (the peer closed first), or
    /// <see cref="SpliceOutcome.Unsupported"/>: the socket or file system cannot splice; <see cref="Moved"/> bytes are in
    /// the file and the caller goes on the ordinary way from there.
    /// </returns>
    /// <exception cref="IOException">The socket failed (reset, aborted).</exception>
    /// <exception cref="FileTransferException">
    /// Writing the file failed (kind LocalIo): disk full, I/O error, or one file-side call outlasted the stall timeout
    /// (<see cref="Stalled"/>; the move returns without waiting for it).
    /// </exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="waitToken"/> fired while waiting for the peer, or <paramref name="cancellationToken"/> fired and a
    /// file-side call outlasted the cancel grace (<see cref="Stalled"/>: the file is left as it is).
    /// </exception>
    public async Task<SpliceOutcome> MoveAsync(
        Socket socket,
        SafeFileHandle file,
        long offset,
        long count,
        string displayName,
        Action<long> onMoved,
        CancellationToken waitToken,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // After a stall the abandoned thread may still come back to this pipe; a new move would clear its mark under it.
        if (Stalled)
        {
            throw new InvalidOperationException("This splice stalled; a new receive needs a new one.");
        }

        // The splices must never block: the socket-side flag is the socket's own O_NONBLOCK (SPLICE_F_NONBLOCK covers only
        // the pipe), and .NET sets it only once an async operation on the socket has had to wait. Waits are ours, below.
        var wasBlocking = socket.Blocking;
        socket.Blocking = false;
        try
        {
            return _stallTimeout == Timeout.InfiniteTimeSpan
                ? await MoveNonBlockingAsync(socket, file, offset, count, displayName, onMoved, waitToken).ConfigureAwait(false)
                : await MoveWatchedAsync(socket, file, offset, count, displayName, onMoved, waitToken, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                socket.Blocking = wasBlocking;
            }
            catch (ObjectDisposedException)
            {
                // Closed under us; the failure that matters is the one already on its way out.
            }
        }
    }

    /// <summary>
    /// The real file-side call: splice(2) from <paramref name="pipe"/> into <paramref name="file"/> at
    /// <paramref name="offset"/> (the file's own position is left alone).
    /// </summary>
    public static nint SpliceToFile(int pipe, int file, long offset, nuint length) =>
        SpliceNative.SpliceToFile(pipe, 0, file, ref offset, length, SpliceNative.SpliceMove);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ReleasePipe();
        }
    }

    /// <summary>
    /// The move on a pool thread of its own, watched by a timer: a file-side call that hangs holds that thread, not the
    /// caller, who hears of the stall within the timeout plus a quarter of it, at most 5 s (the timer looks four times per
    /// timeout, at least every 5 s). After the caller's cancel, within the cancel grace plus a quarter of it.
    /// </summary>
    private async Task<SpliceOutcome> MoveWatchedAsync(
        Socket socket,
        SafeFileHandle file,
        long offset,
        long count,
        string displayName,
        Action<long> onMoved,
        CancellationToken waitToken,
        CancellationToken cancellationToken)
    {
        // The watch first: it must be looking before the first file-side call can start.
        var watch = _watch = new WriteStallWatch(_stallTimeout, _time);
        Task<SpliceOutcome> move;
        using (watch)
        {
            move = Task.Run(() => MoveNonBlockingAsync(socket, file, offset, count, displayName, onMoved, waitToken), CancellationToken.None);

            // The moving thread sees the cancel between calls (waitToken carries it); stuck in one it cannot, so the cancel
            // shortens the watch's bound instead. Let go of before the watch is disposed.
            var cancel = cancellationToken.UnsafeRegister(static state => ((WriteStallWatch)state!).Cancel(), watch);
            await using (cancel.ConfigureAwait(false))
            {
                await Task.WhenAny(move, watch.Stall).ConfigureAwait(false);
            }
        }

        // Decided by the mark, not by which task won: the abandoned thread may come back and end its move before the
        // timer's thread has completed the stall.
        if (!Stalled)
        {
            return await move.ConfigureAwait(false);
        }

        // The stuck thread still reads the pipe: it is closed when that thread is done, whoever lets go last. Whatever
        // the thread ends with is observed here; nobody else waits for it.
        Interlocked.Increment(ref _pipeHolds);
        AbandonedMove = move.ContinueWith(
            static (ended, state) =>
            {
                _ = ended.Exception;
                ((SocketFileSplice)state!).ReleasePipe();
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        if (watch.Cancelled)
        {
            // The user stopped the receive; the disk only kept the stop from being noticed sooner.
            throw new OperationCanceledException(
                $"Cancelled while writing {displayName} hung after {offset + Moved} bytes; the write was given up on and the file left as it is.",
                cancellationToken);
        }

        throw new FileTransferException(
            FileTransferErrorKind.LocalIo,
            $"Writing {displayName} stalled: the disk took no data for {_stallTimeout.TotalMilliseconds / 1000.0:0.#} s after {offset + Moved} bytes.");
    }

    /// <summary>Marks a file-side call as started (when watched); returns its mark for <see cref="EndFileCall"/>.</summary>
    private long BeginFileCall() => _watch?.Begin() ?? 0;

    /// <summary>Marks the file-side call begun at <paramref name="since"/> as over; false when the stall check gave up on it meanwhile.</summary>
    private bool EndFileCall(long since) => _watch?.End(since) ?? true;

    private void ReleasePipe()
    {
        if (Interlocked.Decrement(ref _pipeHolds) == 0)
        {
            _ = SpliceNative.Close(_pipeRead);
            _ = SpliceNative.Close(_pipeWrite);
        }
    }

    private async Task<SpliceOutcome> MoveNonBlockingAsync(
        Socket socket, SafeFileHandle file, long offset, long count, string displayName, Action<long> onMoved, CancellationToken waitToken)
    {
        var position = offset + Moved;
        var nextYield = Moved + YieldEvery;
        var waited = false;
        while (Moved < count)
        {
            waitToken.ThrowIfCancellationRequested();
            var (got, errno) = SpliceIn(socket, (nuint)Math.Min(_pipeBytes, count - Moved));
            if (got > 0)
            {
                waited = false;
                var drained = DrainToFile(file, got, ref position, displayName);
                if (Stalled)
                {
                    // Back from a file-side call the stall check gave up on: the move has failed without us, and the
                    // socket, the file and the progress callback are no longer ours to touch.
                    return SpliceOutcome.Ended;
                }

                if (!drained)
                {
                    return SpliceOutcome.Unsupported;
                }

                onMoved(Moved);
                if (Moved >= nextYield)
                {
                    // While the peer keeps the socket full no splice waits, and the disk writes here are blocking: let the
                    // pool thread go now and then, so timers and the XMPP session are not held up behind a long transfer.
                    // Forced onto the pool, never back to a caller's context (a UI thread must not run these writes).
                    nextYield = Moved + YieldEvery;
                    await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                }

                continue;
            }

            if (got == 0)
            {
                return SpliceOutcome.Ended;
            }

            switch (errno)
            {
                case SpliceNative.EINTR:
                    continue;
                case SpliceNative.EAGAIN when waited && AtUrgentMark(socket):
                    // The wait said the socket is readable and splice still takes nothing: TCP urgent data stops it for good
                    // (tcp_read_sock), and every further wait would return at once, spinning. recv steps over the mark:
                    // let the buffered path go on.
                    return SpliceOutcome.Unsupported;
                case SpliceNative.EAGAIN:
                    await WaitReadableAsync(socket, waitToken).ConfigureAwait(false);
                    waited = true;
                    continue;
                case SpliceNative.EINVAL or SpliceNative.ENOSYS or SpliceNative.EOPNOTSUPP:
                    // This kind of socket cannot be spliced from; nothing was taken from it.
                    return SpliceOutcome.Unsupported;
                default:
                    var error = new SocketException(errno);
                    throw new IOException(error.Message, error);
            }
        }

        return SpliceOutcome.Done;
    }

    /// <summary>
    /// Waits until the socket has data or the peer closed: a zero-byte receive completes then without taking a byte.
    /// </summary>
    private static async Task WaitReadableAsync(Socket socket, CancellationToken waitToken)
    {
        try
        {
            _ = await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, waitToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException(ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            // As the buffered path (NetworkStream) reports a socket closed under it.
            throw new IOException("The bytestream was closed.", ex);
        }
    }

    private static bool AtUrgentMark(Socket socket)
    {
        var added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            return SpliceNative.IsAtUrgentMark((int)socket.SafeHandle.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>One splice from the socket into the empty pipe; the count, or -1 and errno. Never blocks.</summary>
    private (nint Got, int Errno) SpliceIn(Socket socket, nuint length)
    {
        var added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("The bytestream was closed.", ex);
        }

        try
        {
            var got = SpliceNative.SpliceStream(
                (int)socket.SafeHandle.DangerousGetHandle(), 0, _pipeWrite, 0, length, SpliceNative.SpliceMove | SpliceNative.SpliceNonBlock);
            return (got, got < 0 ? Marshal.GetLastPInvokeError() : 0);
        }
        finally
        {
            socket.SafeHandle.DangerousRelease();
        }
    }

    /// <summary>
    /// Empties the pipe (<paramref name="pending"/> bytes) into the file. False when the file system cannot splice: the
    /// bytes are then copied out through a buffer, so none is lost, and the caller stops splicing. Returns at once, with
    /// nothing more written, when the stall check gave up on a call (<see cref="Stalled"/>).
    /// </summary>
    private bool DrainToFile(SafeFileHandle file, nint pending, ref long position, string displayName)
    {
        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var fd = (int)file.DangerousGetHandle();
            while (pending > 0)
            {
                var since = BeginFileCall();
                var written = _fileSplice is null
                    ? SpliceToFile(_pipeRead, fd, position, (nuint)pending)
                    : _fileSplice(_pipeRead, fd, position, (nuint)pending);
                var errno = written < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (!EndFileCall(since))
                {
                    return true;
                }

                if (written > 0)
                {
                    position += written;
                    pending -= written;
                    Moved += written;
                    continue;
                }

                if (errno == SpliceNative.EINTR)
                {
                    continue;
                }

                if (errno is SpliceNative.EINVAL or SpliceNative.ENOSYS or SpliceNative.EOPNOTSUPP)
                {
                    CopyOut(file, pending, ref position, displayName);
                    return false;
                }

                throw WriteFailed(displayName, position, written == 0 ? "the file took no bytes" : new Win32Exception(errno).Message);
            }

            return true;
        }
        finally
        {
            file.DangerousRelease();
        }
    }

    /// <summary>Reads what is left in the pipe and writes it the ordinary way (each write watched as a splice is).</summary>
    private void CopyOut(SafeFileHandle file, nint pending, ref long position, string displayName)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(pending, _pipeBytes));
        try
        {
            while (pending > 0)
            {
                var got = SpliceNative.Read(_pipeRead, ref buffer[0], (nuint)Math.Min(pending, buffer.Length));
                if (got < 0 && Marshal.GetLastPInvokeError() == SpliceNative.EINTR)
                {
                    continue;
                }

                if (got <= 0)
                {
                    throw WriteFailed(displayName, position, "the bytes in the kernel pipe could not be read back");
                }

                var since = BeginFileCall();
                try
                {
                    RandomAccess.Write(file, buffer.AsSpan(0, (int)got), position);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // After a stall nobody hears this but the abandoned move's observer.
                    _ = EndFileCall(since);
                    throw WriteFailed(displayName, position, ex.Message, ex);
                }

                if (!EndFileCall(since))
                {
                    return;
                }

                position += got;
                pending -= got;
                Moved += got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The same error as the buffered path's (<see cref="FileSink"/>), counting bytes as file offsets.</summary>
    private static FileTransferException WriteFailed(string displayName, long position, string reason, Exception? inner = null) =>
        new(FileTransferErrorKind.LocalIo, $"Writing {displayName} failed after {position} bytes: {reason}", inner);
}
