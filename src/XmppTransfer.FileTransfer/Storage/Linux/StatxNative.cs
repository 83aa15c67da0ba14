using System.Runtime.InteropServices;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// statx(2) from glibc (2.28 and later), for the one number .NET does not expose: the blocks a file holds on disk. Its
/// <c>struct statx</c> has the same layout on every architecture, unlike <c>struct stat</c>, so no per-architecture
/// table is needed. Callers check <see cref="OperatingSystem.IsLinux"/> first.
/// </summary>
internal static partial class StatxNative
{
    private const string Libc = "libc.so.6";
    private const int AtFdCwd = -100;
    private const uint StatxBlocks = 0x400;

    // struct statx is 256 bytes in native byte order: stx_mask is the u32 at offset 0, stx_blocks (in 512-byte units,
    // whatever the file system's block size) the u64 at offset 48.
    private const int StatxSize = 256;
    private const int MaskOffset = 0;
    private const int BlocksOffset = 48;

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
}
