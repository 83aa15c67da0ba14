using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>
/// linkat(2) of an open descriptor, from glibc: gives the very inode a receive wrote and verified a new name, which .NET
/// cannot do (it moves and links by name only). The link never replaces anything: a name that exists makes it fail with
/// EEXIST. The descriptor is named through <c>/proc/self/fd/N</c> (followed with <c>AT_SYMLINK_FOLLOW</c>), which any
/// process may do for its own descriptors; without /proc mounted, <c>AT_EMPTY_PATH</c> on the descriptor itself, which the
/// kernel allows only with CAP_DAC_READ_SEARCH (otherwise ENOENT). (What a name points at now:
/// <see cref="StatxNative.StampOf"/>.) Callers check <see cref="OperatingSystem.IsLinux"/> first.
/// </summary>
internal static partial class LinkNative
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EXDEV = 18;
    public const int EEXIST = 17;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;

    private const string Libc = "libc.so.6";
    private const int AtFdCwd = -100;
    private const int AtSymlinkFollow = 0x400;
    private const int AtEmptyPath = 0x1000;
    private const string ProcFds = "/proc/self/fd";

    [LibraryImport(Libc, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkAt(int oldDirectoryFd, string oldPath, int newDirectoryFd, string newPath, int flags);

    /// <summary>
    /// Makes <paramref name="newPath"/> a new name of the open <paramref name="file"/>; 0, or the errno (EEXIST: the name
    /// is taken, and was left as it was). A file whose last name is gone (link count 0) cannot be linked again: ENOENT.
    /// </summary>
    public static int LinkOpenFile(SafeFileHandle file, string newPath)
    {
        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var fd = (int)file.DangerousGetHandle();
            if (LinkAt(AtFdCwd, $"{ProcFds}/{fd}", AtFdCwd, newPath, AtSymlinkFollow) == 0)
            {
                return 0;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != ENOENT || Directory.Exists(ProcFds))
            {
                return errno;
            }

            // No /proc: the descriptor itself, which needs CAP_DAC_READ_SEARCH (ENOENT without it, as without /proc).
            return LinkAt(fd, "", AtFdCwd, newPath, AtEmptyPath) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }
}
