using System.Runtime.InteropServices;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// mmap(2), munmap(2) and send(2) from glibc (<c>libc.so.6</c>), for <see cref="MappedFileWindow"/>. Callers check
/// <see cref="IsSupported"/> first and treat a missing library or entry point as "not supported".
/// </summary>
internal static partial class MappedSendNative
{
    public const int ProtRead = 0x1;
    public const int MapShared = 0x1;

    /// <summary>Fault the pages in during the mmap call itself (one call instead of a page fault per 64 KiB later).</summary>
    public const int MapPopulate = 0x8000;

    public const nint MapFailed = -1;

    /// <summary>send(2) flags: never block (whatever the socket's own mode), and no SIGPIPE from a closed peer.</summary>
    public const int SendFlags = 0x40 | 0x4000;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EFAULT = 14;

    private const string Libc = "libc.so.6";

    private static int s_unavailable;

    /// <summary>
    /// Linux on x64 or Arm64, where glibc's <c>mmap</c> takes a 64-bit offset and the values above are the ones used; and
    /// the entry points were found (see <see cref="MarkUnavailable"/>).
    /// </summary>
    public static bool IsSupported =>
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 && Volatile.Read(ref s_unavailable) == 0;

    /// <summary>The library or an entry point is missing (a C library other than glibc): every later send uses sendfile.</summary>
    public static void MarkUnavailable() => Volatile.Write(ref s_unavailable, 1);

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Map(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Unmap(nint address, nuint length);

    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int socket, nint buffer, nuint length, int flags);
}
