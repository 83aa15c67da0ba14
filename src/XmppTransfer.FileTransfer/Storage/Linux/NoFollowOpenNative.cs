using System.Runtime.InteropServices;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// open(2) with <c>O_NOFOLLOW | O_NONBLOCK</c>, and statx(2) of the descriptor it gave, from glibc: what .NET cannot do
/// (<see cref="File.OpenHandle(string, FileMode, FileAccess, FileShare, FileOptions, long)"/> follows links and waits on a
/// FIFO). A link in the last component makes the open fail (ELOOP) instead of reaching what it points to, and a FIFO opens
/// at once instead of waiting for its other end; the caller then tells from the descriptor itself what it opened, so
/// nothing swapped in after a check by path is written through. The flag values of O_NOFOLLOW differ by architecture (x86
/// and x64 take the generic one, ARM its own); elsewhere <see cref="IsSupported"/> is false. A C library without these
/// entry points (musl has no libc.so.6; glibc before 2.28 has no statx) is found out at the first call: the caller then
/// calls <see cref="MarkUnavailable"/>, and <see cref="IsSupported"/> is false from then on, so the path-based open is
/// used. The descriptor is also locked as .NET locks a file it opens (flock(2), <see cref="TryLock"/>). Callers check
/// <see cref="OperatingSystem.IsLinux"/> first.
/// </summary>
internal static partial class NoFollowOpenNative
{
    public const int ReadOnly = 0;
    public const int ReadWrite = 2;

    /// <summary>O_CREAT (the same on every architecture <see cref="OpenFlags"/> knows), added to an access mode: a missing file is made (mode 0600).</summary>
    public const int Create = 0x40;

    private const string Libc = "libc.so.6";
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;

    // A terminal device must not become our controlling terminal by being opened (we refuse it after the open anyway).
    private const int ONoCtty = 0x100;

    // flock(2) operations, and the errno of a lock held elsewhere.
    private const int LockShared = 1;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int EWouldBlock = 11;
    private const int AtEmptyPath = 0x1000;

    // STATX_TYPE | STATX_NLINK | STATX_INO | STATX_SIZE.
    private const uint WantedMask = 0x1 | 0x4 | 0x100 | 0x200;

    // struct statx, as in StatxNative: stx_mask u32 at 0, stx_nlink u32 at 16, stx_mode u16 at 28, stx_ino u64 at 32,
    // stx_size u64 at 40, stx_dev_major and stx_dev_minor u32 at 136 and 140.
    private const int StatxSize = 256;
    private const int NlinkOffset = 16;
    private const int ModeOffset = 28;
    private const int InoOffset = 32;
    private const int SizeOffset = 40;
    private const int DevMajorOffset = 136;
    private const int DevMinorOffset = 140;

    private static volatile bool s_unavailable;

    /// <summary>
    /// True where the flag values are known (x86, x64, ARM, ARM64 Linux) and the C library has not been found to lack an
    /// entry point (<see cref="MarkUnavailable"/>).
    /// </summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && OpenFlags(RuntimeInformation.ProcessArchitecture) != 0 && !s_unavailable;

    /// <summary>
    /// The C library lacks open, statx or flock (a <see cref="DllNotFoundException"/> or <see cref="EntryPointNotFoundException"/>
    /// came out of a call): every later open takes the path-based way, without trying again.
    /// </summary>
    public static void MarkUnavailable() => s_unavailable = true;

    /// <summary>
    /// The open(2) flags besides the access mode on <paramref name="architecture"/>, or 0 where they are not known. 32-bit
    /// architectures add O_LARGEFILE (implied on 64-bit ones): we call open, not open64, and without it a part of 2 GiB or
    /// more fails to open (EOVERFLOW), so it could never be resumed there.
    /// </summary>
    internal static int OpenFlags(Architecture architecture)
    {
        var (noFollow, largeFile) = architecture switch
        {
            Architecture.X64 => (0x20000, 0),
            Architecture.X86 => (0x20000, 0x8000),
            Architecture.Arm64 => (0x8000, 0),
            Architecture.Arm => (0x8000, 0x20000),
            _ => (0, 0),
        };
        return noFollow == 0 ? 0 : noFollow | largeFile | ONoCtty | ONonBlock | OCloExec;
    }

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport(Libc, EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref byte buffer);

    /// <summary>
    /// Opens <paramref name="path"/> (<see cref="ReadOnly"/> or <see cref="ReadWrite"/>, with <see cref="Create"/> to make a
    /// missing file) without following a link and without waiting; the descriptor, or -1 with the errno.
    /// </summary>
    public static (int Fd, int Errno) OpenNoFollow(string path, int access)
    {
        var fd = Open(path, access | OpenFlags(RuntimeInformation.ProcessArchitecture), (access & Create) != 0 ? 0x180 : 0);
        return (fd, fd < 0 ? Marshal.GetLastPInvokeError() : 0);
    }

    /// <summary>
    /// Locks the open descriptor <paramref name="fd"/> without waiting, as .NET locks a file it opens itself (flock(2),
    /// exclusive for <see cref="FileShare.None"/>, shared otherwise): <paramref name="exclusive"/> for a part we write, shared
    /// for one we read. 0, or the errno; <see cref="IsLockedElsewhere"/> tells a lock held by another open of the file.
    /// </summary>
    public static int TryLock(int fd, bool exclusive) =>
        Flock(fd, (exclusive ? LockExclusive : LockShared) | LockNonBlocking) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>True for the errno of a lock another open of the file holds (EWOULDBLOCK).</summary>
    public static bool IsLockedElsewhere(int errno) => errno == EWouldBlock;

    /// <summary>What the open descriptor <paramref name="fd"/> is; null when statx cannot tell.</summary>
    public static OpenedFile? Describe(int fd)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        buffer.Clear();
        if (Statx(fd, "", AtEmptyPath, WantedMask, ref MemoryMarshal.GetReference(buffer)) != 0
            || (MemoryMarshal.Read<uint>(buffer) & WantedMask) != WantedMask)
        {
            return null;
        }

        return new OpenedFile(
            (ushort)(MemoryMarshal.Read<ushort>(buffer[ModeOffset..]) & 0xF000),
            MemoryMarshal.Read<uint>(buffer[NlinkOffset..]),
            new PartStamp(
                ((ulong)MemoryMarshal.Read<uint>(buffer[DevMajorOffset..]) << 32) | MemoryMarshal.Read<uint>(buffer[DevMinorOffset..]),
                MemoryMarshal.Read<ulong>(buffer[InoOffset..])),
            (long)Math.Min(MemoryMarshal.Read<ulong>(buffer[SizeOffset..]), long.MaxValue));
    }

    /// <summary>An open descriptor's type (<c>S_IFMT</c> bits), link count, identity and length.</summary>
    internal readonly record struct OpenedFile(ushort Type, uint Links, PartStamp Stamp, long Length);
}
