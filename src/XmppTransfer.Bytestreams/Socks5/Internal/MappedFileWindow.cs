using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// A read-only memory mapping of part of a file, handed to send(2) as its buffer: the kernel copies the page-cache pages
/// straight into the socket, with no copy through a buffer of ours.
/// This process never reads the mapping itself; only the kernel does, inside send(2). That is what makes it safe: a file
/// cut short under a mapping raises SIGBUS on a read from user code, which would kill the process, but inside a system
/// call the same fault makes the call fail with EFAULT (<see cref="SocketError.Fault"/>).
/// Dispose unmaps it, so it must only be disposed once no send that uses it is still running.
/// </summary>
internal sealed unsafe class MappedFileWindow : MemoryManager<byte>
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
    /// system without mmap, no address space left): the caller sends another way.
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
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
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

    /// <summary>The bytes as a span: for the runtime to take the address of, never to be read here (see the class remarks).</summary>
    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_mapping == 0, this);
        return new Span<byte>((byte*)_mapping + _skew, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_mapping == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle((byte*)_mapping + _skew + elementIndex);
    }

    public override void Unpin()
    {
        // Mapped memory does not move.
    }

    protected override void Dispose(bool disposing)
    {
        var mapping = Interlocked.Exchange(ref _mapping, 0);
        if (mapping != 0)
        {
            _ = MappedSendNative.Unmap(mapping, _mappedLength);
        }
    }
}
