namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// The free-space check every receive makes before it takes a byte: the SI receive before it answers the offer, the
/// out-of-band download once the server has said how long the file is (XEP-0066 offers carry no size). Refusing early
/// tells the user which folder is short and by how much, instead of a write failing part-way, and leaves any part as
/// it was.
/// </summary>
internal static class DiskSpace
{
    /// <summary>True when <paramref name="directory"/>'s file system has <paramref name="bytes"/> free, or when that cannot be told.</summary>
    public static bool HasRoomFor(string directory, long bytes)
    {
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(directory));
            return drive.AvailableFreeSpace >= bytes;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Unknown: let the write itself fail if the disk fills.
            return true;
        }
    }

    /// <summary>The message both receive paths give when <see cref="HasRoomFor"/> said no.</summary>
    public static string Shortage(string directory, long bytes) => $"Not enough free space in {directory} for {bytes} bytes.";
}
