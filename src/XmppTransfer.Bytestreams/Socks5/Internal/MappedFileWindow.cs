using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// A read-only memory mapping of part of a file, sent with send(2) straight from the mapping: the kernel copies the
/// page-cache pages into the socket, with no copy through a buffer of ours.
/// Nothing in this process ever reads the mapping: it is not exposed as a span or as <see cref="Memory{T}"/>, so neither
/// our code nor the runtime (network tracing logs send buffers) can touch it. Only the kernel does, inside send(2). That
/// is what makes it safe: a file cut short under a mapping raises SIGBUS on a read from user code, which would kill the
/// process, but inside a system call the same fault makes the call fail with EFAULT.
/// </summary>
internal sealed class MappedFileWindow : IDisposable
{
    private readonly nuint _mappedLength;
    private readonly int _skew;
    private readonly int _length;
    private nint _mapping;

    private MappedFileWindow(nint mapping, nuint mappedLength, int skew, int length)
    {
        _mapping = mapping;
        _mappedLength = mappedLength;
        _skew = skew;
        _length = length;
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="file"/> from <paramref name="offset"/> (any offset: the
    /// mapping starts at the page below it). Null when the system or the file cannot be mapped (not 64-bit Linux, a file
    /// system without mmap, a handle not open for reading, no address space left): the caller sends another way.
    /// </summary>
    public static MappedFileWindow? TryMap(SafeFileHandle file, long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (!MappedSendNative.IsSupported)
        {
            return null;
        }

        var skew = (int)(offset % Environment.SystemPageSize);
        var mappedLength = (nuint)skew + (nuint)length;
        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var mapping = MappedSendNative.Map(
                0, mappedLength, MappedSendNative.ProtRead, MappedSendNative.MapShared | MappedSendNative.MapPopulate, (int)file.DangerousGetHandle(), offset - skew);
            return mapping == MappedSendNative.MapFailed ? null : new MappedFileWindow(mapping, mappedLength, skew, length);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without these entry points (not glibc): do not try again for every send.
            MappedSendNative.MarkUnavailable();
            return null;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// One send(2) of <paramref name="length"/> bytes from <paramref name="at"/> that never blocks: the count sent (maybe
    /// fewer), or -1 with errno (EAGAIN when the socket is full, EFAULT when the file was cut short under the mapping).
    /// The runtime's own async send cannot be used for this: an error that follows a partial send in the same attempt is
    /// taken for a full socket, and it then waits for room that never comes.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The socket or this window was closed.</exception>
    public (nint Sent, int Errno) SendTo(Socket socket, int at, int length)
    {
        ObjectDisposedException.ThrowIf(_mapping == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(at);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _length - at);
        var added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            var sent = MappedSendNative.Send((int)socket.SafeHandle.DangerousGetHandle(), _mapping + _skew + at, (nuint)length, MappedSendNative.SendFlags);
            return (sent, sent < 0 ? Marshal.GetLastPInvokeError() : 0);
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Unmaps the window; no send from it may still be running (they are synchronous, so none is after it returns).</summary>
    public void Dispose()
    {
        var mapping = Interlocked.Exchange(ref _mapping, 0);
        if (mapping != 0)
        {
            _ = MappedSendNative.Unmap(mapping, _mappedLength);
        }
    }
}
