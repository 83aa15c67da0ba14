using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Tells what kind of file a path names without opening it. Opening is what must be avoided: a FIFO without a writer
/// makes a read-only open wait for ever (and one without a reader a write-only open), and a device is no file to send or
/// to write a part into.
/// <para>
/// .NET has no public API for the file type: on Unix <see cref="File.GetAttributes(string)"/> reports a FIFO, a socket or
/// a device as <see cref="FileAttributes.Normal"/>, exactly as a regular file, and <see cref="FileInfo.Length"/> gives 0
/// for them as for an empty file. Opening with O_NONBLOCK would not wait, but .NET cannot pass that flag and a native
/// open would then need fstat, whose <c>struct stat</c> differs per architecture. So on Linux this asks statx(2), whose
/// layout is the same everywhere and which this assembly already uses (<see cref="StatxNative"/>): it reads the inode
/// only. Elsewhere (macOS, BSD, Windows) only what <see cref="FileSystemInfo"/> tells is known (missing, folder, link);
/// any other entry is reported as unknown (null) and callers keep their previous, opening checks.
/// </para>
/// </summary>
internal static class FileKindProbe
{
    // The S_IFMT values of the mode, the same on every Linux architecture.
    private const ushort SIfIfo = 0x1000;
    private const ushort SIfChr = 0x2000;
    private const ushort SIfDir = 0x4000;
    private const ushort SIfBlk = 0x6000;
    private const ushort SIfReg = 0x8000;
    private const ushort SIfLnk = 0xA000;
    private const ushort SIfSock = 0xC000;

    /// <summary>
    /// The kind of <paramref name="path"/>; with <paramref name="followLinks"/> that of what a symbolic link points to
    /// (what opening would reach), else that of the link itself. Null when it cannot be told (see the class remarks).
    /// </summary>
    public static FileKind? Of(string path, bool followLinks)
    {
        if (OperatingSystem.IsLinux())
        {
            return StatxNative.FileType(path, followLinks) switch
            {
                0 => FileKind.Missing,
                SIfReg => FileKind.RegularFile,
                SIfDir => FileKind.Directory,
                SIfLnk => FileKind.SymbolicLink,
                SIfIfo => FileKind.NamedPipe,
                SIfSock => FileKind.Socket,
                SIfChr => FileKind.CharacterDevice,
                SIfBlk => FileKind.BlockDevice,
                _ => null,
            };
        }

        try
        {
            var info = new FileInfo(path);
            if (!followLinks && info.LinkTarget is not null)
            {
                return FileKind.SymbolicLink;
            }

            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? null : FileKind.Missing;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>True for the kinds no transfer reads or writes: a FIFO, a socket, a character or block device.</summary>
    public static bool IsSpecial(FileKind? kind) => kind is FileKind.NamedPipe or FileKind.Socket or FileKind.CharacterDevice or FileKind.BlockDevice;

    /// <summary>The kind with its article, for messages: "a named pipe (FIFO)", "a socket", ...</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.RegularFile => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.NamedPipe => "a named pipe (FIFO)",
        FileKind.Socket => "a socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        _ => "not a regular file",
    };
}
