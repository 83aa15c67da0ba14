using System.Runtime.InteropServices;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// The few Linux system calls the zero-copy receive needs, from glibc (<c>libc.so.6</c>). Callers check
/// <see cref="OperatingSystem.IsLinux"/> first and treat a missing library or entry point as "not supported".
/// </summary>
internal static partial class SpliceNative
{
    /// <summary>splice(2) flag: move pages instead of copying (a hint the kernel has ignored since 2.6.21; harmless).</summary>
    public const uint SpliceMove = 1;

    /// <summary>splice(2) flag: do not block on the pipe.</summary>
    public const uint SpliceNonBlock = 2;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;

    private const string Libc = "libc.so.6";
    private const int OCloExec = 0x80000;
    private const int FSetPipeSize = 1031;
    private const int FGetPipeSize = 1032;
    private const nuint SiocAtMark = 0x8905;

    /// <summary>The two ends of a pipe, as pipe2(2) fills them.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PipeEnds
    {
        public int Read;
        public int Write;
    }

    /// <summary>splice(2) from a socket into a pipe: neither end has an offset.</summary>
    [LibraryImport(Libc, EntryPoint = "splice", SetLastError = true)]
    public static partial nint SpliceStream(int input, nint inputOffset, int output, nint outputOffset, nuint length, uint flags);

    /// <summary>splice(2) from a pipe into a file at <paramref name="outputOffset"/>, which the kernel advances (the file's own position is left alone).</summary>
    [LibraryImport(Libc, EntryPoint = "splice", SetLastError = true)]
    public static partial nint SpliceToFile(int input, nint inputOffset, int output, ref long outputOffset, nuint length, uint flags);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, ref byte buffer, nuint count);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, ref int argument);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(ref PipeEnds ends, int flags);

    /// <summary>A close-on-exec pipe; false (with errno) when the process is out of descriptors.</summary>
    public static bool TryCreatePipe(out PipeEnds ends)
    {
        ends = default;
        return Pipe2(ref ends, OCloExec) == 0;
    }

    /// <summary>Asks for a pipe of <paramref name="bytes"/> and returns what it got (the kernel caps it by pipe-max-size and per-user limits).</summary>
    public static int ResizePipe(int fd, int bytes)
    {
        _ = Fcntl(fd, FSetPipeSize, bytes);
        return Fcntl(fd, FGetPipeSize, 0);
    }

    /// <summary>True when the socket's next byte is TCP urgent data (SIOCATMARK): splice stops there for good.</summary>
    public static bool IsAtUrgentMark(int socket)
    {
        var atMark = 0;
        return Ioctl(socket, SiocAtMark, ref atMark) == 0 && atMark != 0;
    }
}
