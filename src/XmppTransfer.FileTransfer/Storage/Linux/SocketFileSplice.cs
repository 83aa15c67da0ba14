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
    private int _disposed;

    private SocketFileSplice(SpliceNative.PipeEnds ends, int pipeBytes)
    {
        _pipeRead = ends.Read;
        _pipeWrite = ends.Write;
        _pipeBytes = pipeBytes;
    }

    /// <summary>Bytes that reached the file so far (from the offset given to <see cref="MoveAsync"/>).</summary>
    public long Moved { get; private set; }

    /// <summary>A splice with its pipe, or null where the system cannot do it (not Linux, no glibc, no descriptors left).</summary>
    public static SocketFileSplice? TryCreate()
    {
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
                return new SocketFileSplice(ends, size > 0 ? size : 65536);
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
    /// <returns>
    /// <see cref="SpliceOutcome.Done"/> (all bytes here), <see cref="SpliceOutcome.Ended"/> (the peer closed first), or
    /// <see cref="SpliceOutcome.Unsupported"/>: the socket or file system cannot splice; <see cref="Moved"/> bytes are in
    /// the file and the caller goes on the ordinary way from there.
    /// </returns>
    /// <exception cref="IOException">The socket failed (reset, aborted).</exception>
    /// <exception cref="FileTransferException">Writing the file failed (kind LocalIo): disk full, I/O error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="waitToken"/> fired while waiting for the peer.</exception>
    public async Task<SpliceOutcome> MoveAsync(
        Socket socket, SafeFileHandle file, long offset, long count, string displayName, Action<long> onMoved, CancellationToken waitToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // The splices must never block: the socket-side flag is the socket's own O_NONBLOCK (SPLICE_F_NONBLOCK covers only
        // the pipe), and .NET sets it only once an async operation on the socket has had to wait. Waits are ours, below.
        var wasBlocking = socket.Blocking;
        socket.Blocking = false;
        try
        {
            return await MoveNonBlockingAsync(socket, file, offset, count, displayName, onMoved, waitToken).ConfigureAwait(false);
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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
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
                if (!DrainToFile(file, got, ref position, displayName))
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
    /// bytes are then copied out through a buffer, so none is lost, and the caller stops splicing.
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
                var written = SpliceNative.SpliceToFile(_pipeRead, 0, fd, ref position, (nuint)pending, SpliceNative.SpliceMove);
                if (written > 0)
                {
                    pending -= written;
                    Moved += written;
                    continue;
                }

                var errno = written < 0 ? Marshal.GetLastPInvokeError() : 0;
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

    /// <summary>Reads what is left in the pipe and writes it the ordinary way.</summary>
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

                try
                {
                    RandomAccess.Write(file, buffer.AsSpan(0, (int)got), position);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw WriteFailed(displayName, position, ex.Message, ex);
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
