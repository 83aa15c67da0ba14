using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// The free-space check every receive makes before it takes a byte: the SI receive before it answers the offer, the
/// out-of-band download once the server has said how long the file is (XEP-0066 offers carry no size). Refusing early
/// tells the user which folder is short and by how much, instead of a write failing part-way, and leaves any part as
/// it was.
/// </summary>
internal static class DiskSpace
{
    /// <summary>
    /// The free bytes of <paramref name="directory"/>'s file system, or null when that cannot be told. What
    /// <see cref="FileTransferManager.FreeSpace"/> asks unless a test puts something else there.
    /// </summary>
    public static long? FreeBytes(string directory)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when a receive of a file of <paramref name="size"/> bytes into <paramref name="directory"/>, from
    /// <paramref name="resumeFrom"/>, fits in what <paramref name="freeSpace"/> says is free (or when that cannot be told:
    /// the write itself then finds a full disk). The bytes still to come are <c>size - resumeFrom</c>. A receive from 0
    /// overwrites any part at <paramref name="partPath"/> (<see cref="PartData.Open"/> truncates it): a stale, over-long or
    /// mismatched one, one whose prefix failed its hash, one a server would not resume. The space that part holds is
    /// freed before the first byte is written, so it counts as free (<see cref="ReclaimableBytes"/>). A resumed receive
    /// keeps its part and gets no such credit.
    /// </summary>
    public static bool HasRoomFor(string directory, string partPath, long size, long resumeFrom, Func<string, long?> freeSpace)
    {
        var free = freeSpace(directory);
        return free is not { } bytes || Fits(bytes, size - resumeFrom, resumeFrom == 0 ? ReclaimableBytes(partPath) : 0);
    }

    /// <summary>The arithmetic of <see cref="HasRoomFor"/>: <paramref name="needed"/> bytes fit when the free bytes and those a truncated part gives back cover them.</summary>
    public static bool Fits(long free, long needed, long reclaimable) => needed - reclaimable <= free;

    /// <summary>
    /// The space a part to be overwritten gives back, 0 when there is none: on Linux the blocks it holds (statx), which
    /// include space preallocated past its length and leave out holes; elsewhere, or when the file system does not say,
    /// its length, an approximation that is off by at most the rounding to the last block (and by any preallocation or
    /// holes). A part whose blocks are shared (a reflink copy on btrfs or XFS) frees less than that; the write itself then
    /// finds the full disk, as before this credit.
    /// </summary>
    public static long ReclaimableBytes(string partPath)
    {
        try
        {
            var info = new FileInfo(partPath);
            if (!info.Exists || FileKindProbe.Of(partPath, followLinks: false) is { } kind && kind != FileKind.RegularFile)
            {
                // A link, FIFO or device is replaced, not truncated (ForeignPartEntry): what a link points to keeps its blocks.
                return 0;
            }

            return (OperatingSystem.IsLinux() ? StatxNative.AllocatedBytes(partPath) : null) ?? info.Length;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The message both receive paths give when <see cref="HasRoomFor"/> said no.</summary>
    public static string Shortage(string directory, long bytes) => $"Not enough free space in {directory} for {bytes} bytes.";
}
