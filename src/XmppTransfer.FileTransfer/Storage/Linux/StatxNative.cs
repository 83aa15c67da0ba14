using System.Runtime.InteropServices;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// statx(2) from glibc (2.28 and later), for the two things .NET does not expose: the blocks a file holds on disk, and
/// the type of a file (regular, FIFO, socket, device, ...). Its <c>struct statx</c> has the same layout on every
/// architecture, unlike <c>struct stat</c>, so no per-architecture table is needed. Callers check
/// <see cref="OperatingSystem.IsLinux"/> first.
/// </summary>
internal static partial class StatxNative
{
    private const string Libc = "libc.so.6";
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const uint StatxBlocks = 0x400;
    private const uint StatxIno = 0x100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    // struct statx is 256 bytes in native byte order: stx_mask is the u32 at offset 0, stx_mode the u16 at offset 28 (its
    // S_IFMT bits are the type), stx_blocks (in 512-byte units, whatever the file system's block size) the u64 at offset 48.
    private const int StatxSize = 256;
    private const int MaskOffset = 0;
    private const int ModeOffset = 28;
    private const int BlocksOffset = 48;

    // The identity of a file: stx_ino the u64 at 32, stx_dev_major and stx_dev_minor the u32s at 136 and 140.
    private const int InoOffset = 32;
    private const int DevMajorOffset = 136;
    private const int DevMinorOffset = 140;
    private const ushort TypeMask = 0xF000;

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref byte buffer);

    /// <summary>
    /// The bytes <paramref name="path"/> holds on disk (its blocks, preallocated ones included, holes excluded), or null
    /// when they cannot be told (no such file, an old glibc or a libc without statx, a file system that does not say).
    /// </summary>
    public static long? AllocatedBytes(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        buffer.Clear();
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxBlocks, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        if ((MemoryMarshal.Read<uint>(buffer[MaskOffset..]) & StatxBlocks) == 0)
        {
            return null;
        }

        var blocks = MemoryMarshal.Read<ulong>(buffer[BlocksOffset..]);
        return blocks > long.MaxValue / 512 ? null : (long)blocks * 512;
    }

    /// <summary>
    /// The <c>S_IFMT</c> bits of <paramref name="path"/>'s mode (<c>S_IFREG</c>, <c>S_IFIFO</c>, ...): of the link itself
    /// unless <paramref name="followLinks"/>. 0 when nothing is there (ENOENT, or a path through something that is no
    /// folder); null when the type cannot be told (no permission on a folder of the path, a libc without statx). Only
    /// looks at the inode: never opens the file, so a FIFO or device cannot make it wait.
    /// </summary>
    public static ushort? FileType(string path, bool followLinks)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        buffer.Clear();
        try
        {
            if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                return Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR ? (ushort)0 : null;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        if ((MemoryMarshal.Read<uint>(buffer[MaskOffset..]) & StatxType) == 0)
        {
            return null;
        }

        return (ushort)(MemoryMarshal.Read<ushort>(buffer[ModeOffset..]) & TypeMask);
    }

    /// <summary>Which file <paramref name="path"/> names now (a link itself, not what it points to); null when nothing or unknown.</summary>
    public static PartStamp? StampOf(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        buffer.Clear();
        try
        {
            if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxIno, ref MemoryMarshal.GetReference(buffer)) != 0
                || (MemoryMarshal.Read<uint>(buffer[MaskOffset..]) & StatxIno) == 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        return new PartStamp(
            ((ulong)MemoryMarshal.Read<uint>(buffer[DevMajorOffset..]) << 32) | MemoryMarshal.Read<uint>(buffer[DevMinorOffset..]),
            MemoryMarshal.Read<ulong>(buffer[InoOffset..]));
    }
}
