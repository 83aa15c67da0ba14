using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Opens what a resume reads or appends to (<c>name.part</c>, <c>name.part.json</c>) so that what is opened is what was
/// checked. A check by path (<see cref="PartialFile.ResumableLength"/>) and an open by path are two looks at a name that
/// another user of a shared folder can change in between: swapped for a symbolic link, the open would carry our bytes
/// outside the folder; for a FIFO, it would wait for ever. On Linux the open itself follows no link and does not wait
/// (<see cref="NoFollowOpenNative"/>), and the descriptor, not the name, is then asked what it is: a regular file with no
/// other name (a hard link would let a resume truncate and append to a file elsewhere), and, when the part was opened
/// before (its prefix hashed), the very same file (<see cref="PartStamp"/>). Anything else is closed unused and refused.
/// The descriptor is then locked as .NET's own open locks (exclusive to write, shared to read), so two receivers (two
/// processes) resuming the same part cannot interleave their writes: the second open fails with an
/// <see cref="IOException"/>, as the path-based open with <see cref="FileShare.None"/> does. Elsewhere, or with a C
/// library that lacks the calls (musl, glibc before 2.28), only the earlier checks by path guard the open (the window
/// stays, as .NET has no way to close it there).
/// </summary>
internal static class ExistingPart
{
    private const int ELOOP = 40;
    private const int ENOENT = 2;
    private const ushort SIfReg = 0x8000;

    /// <summary>
    /// Opens the existing part at <paramref name="path"/> for reading (<paramref name="write"/> false) or for reading and
    /// writing. With <paramref name="expected"/>, only the file it names is accepted. The stream and the file's stamp (null
    /// where it cannot be told), or null with <paramref name="refusal"/> saying why nothing was opened.
    /// </summary>
    public static (FileStream Stream, PartStamp? Stamp)? TryOpen(string path, bool write, PartStamp? expected, out string refusal)
    {
        var access = write ? FileAccess.ReadWrite : FileAccess.Read;
        if (NoFollowOpenNative.IsSupported)
        {
            try
            {
                return TryOpenNoFollow(path, write, access, expected, out refusal);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // No libc.so.6 (musl), or no statx (glibc before 2.28): found out once, and the path-based open from now on.
                // Nothing is left open: the descriptor is closed where the call that failed came after the open.
                NoFollowOpenNative.MarkUnavailable();
            }
        }

        refusal = "it is not a regular file";
        var kind = FileKindProbe.Of(path, followLinks: false);
        if (kind is { } known ? known != FileKind.RegularFile : new FileInfo(path).LinkTarget is not null)
        {
            return null;
        }

        return (new FileStream(path, FileMode.Open, access, write ? FileShare.None : FileShare.Read, 1, FileOptions.Asynchronous), null);
    }

    private static (FileStream Stream, PartStamp? Stamp)? TryOpenNoFollow(string path, bool write, FileAccess access, PartStamp? expected, out string refusal)
    {
        var (fd, errno) = NoFollowOpenNative.OpenNoFollow(path, write ? NoFollowOpenNative.ReadWrite : NoFollowOpenNative.ReadOnly);
        if (fd < 0)
        {
            refusal = errno switch
            {
                ELOOP => "it is a symbolic link",
                ENOENT => "it is missing",
                _ => new System.ComponentModel.Win32Exception(errno).Message,
            };
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var opened = NoFollowOpenNative.Describe(fd);
            refusal = opened switch
            {
                null => "what it is cannot be told",
                { Type: not SIfReg } => "it is not a regular file",
                { Links: not 1 } => "it has other names (hard links)",
                _ when expected is { } stamp && opened.Value.Stamp != stamp => "it is no longer the file that was checked",
                _ => "",
            };
            if (refusal.Length > 0)
            {
                handle.Dispose();
                return null;
            }

            // Other errors (a file system without flock, ENOLCK) leave the file unlocked, as they do in .NET's own open.
            if (NoFollowOpenNative.IsLockedElsewhere(NoFollowOpenNative.TryLock(fd, exclusive: write)))
            {
                throw new PartInUseException(path);
            }

            // isAsync false: the descriptor was opened without O_ASYNC semantics, and on Unix the runtime runs a file's
            // asynchronous reads and writes on the thread pool either way.
            var stream = new FileStream(handle, access, bufferSize: 1, isAsync: false);
            return (stream, opened!.Value.Stamp);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The text of a small regular file (metadata) at <paramref name="path"/>, opened as <see cref="TryOpen"/> opens it, read
    /// only when it holds 1 to <paramref name="maxBytes"/> bytes; null otherwise (missing, a link, a FIFO, too long, locked
    /// by its writer, ...).
    /// </summary>
    public static string? ReadSmallText(string path, int maxBytes)
    {
        (FileStream Stream, PartStamp? Stamp)? opened;
        try
        {
            opened = TryOpen(path, write: false, expected: null, out _);
        }
        catch (IOException)
        {
            // Being written (locked) or unreadable: as good as missing, so the part is not resumed from.
            return null;
        }

        if (opened is not var (stream, _))
        {
            return null;
        }

        using (stream)
        {
            // The length of the descriptor's file, read after the open: a name swapped since cannot make us read more.
            var length = stream.Length;
            if (length is 0 || length > maxBytes)
            {
                return null;
            }

            var bytes = new byte[length];
            var got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            return System.Text.Encoding.UTF8.GetString(bytes, 0, got);
        }
    }
}
