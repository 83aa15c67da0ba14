using System.Buffers;
using System.ComponentModel;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Saves a verified part under its final name by the open file the receive wrote and hashed (Linux), not by the name
/// <c>name.part</c>: between the check and a move by name, another user of a shared folder could have put another file
/// under that name, whose unverified bytes would then be published as ours. The final name is made a new link of our
/// descriptor's inode (<see cref="LinkNative.LinkOpenFile"/>), which fails on a name that exists instead of replacing it, so
/// the first free <c>name (n).ext</c> is found by trying each in turn, safely against other processes too. With overwrite,
/// our inode is linked to a fresh hidden name in the folder and that renamed over the final name (rename(2) is atomic: the
/// final name always holds either the old file or ours, never nothing nor a partial file). Then <c>name.part</c> is
/// removed, only if it still names our inode; another file under it is left alone (and logged). When our inode has no
/// name left at all (another file renamed over the part, or the part removed), it cannot be linked: the verified bytes are
/// first copied from the open file to a fresh hidden file in the folder, and that is published. The copy is what a crash can leave behind (<c>.xft-*.tmp</c>), as the hidden
/// name of an overwrite can.
/// <para>
/// Where linking is refused, <see cref="Publication.FinalPath"/> is null and the caller moves by name <see cref="Publication.ByName"/>
/// (the part, or, when its name no longer leads to our file, a hidden copy of our bytes):
/// EPERM (a file system without hard links, such as FAT or some FUSE ones), ENOSYS, EOPNOTSUPP, EXDEV, or ENOENT while
/// the file still has a name (no /proc mounted and no CAP_DAC_READ_SEARCH for AT_EMPTY_PATH). Any other error (EACCES,
/// ENOSPC, ...) is one a move by name would meet too, and is thrown.
/// </para>
/// </summary>
internal static class PartPublication
{
    /// <summary>The <c>name (n).ext</c> tried before giving up: a bound on the loop, far above what a folder ever holds.</summary>
    internal const int MaxFinalNames = 10_000;

    private const int MaxHiddenNameTries = 16;
    private const int CopyBufferSize = 1024 * 1024;

    /// <summary>Where the file went (<see cref="FinalPath"/>), or, when linking is refused here, the file to move by name.</summary>
    internal readonly record struct Publication(string? FinalPath, string ByName);

    /// <summary>
    /// Publishes <paramref name="verified"/> (the open part <paramref name="partName"/> in <paramref name="directory"/>) as
    /// <paramref name="finalName"/>, replacing a file of that name when <paramref name="overwrite"/>, else under the first
    /// free <c>name (n).ext</c>. <paramref name="link"/> makes a new name of an open file (0 or an errno); tests replace it.
    /// </summary>
    public static async Task<Publication> PublishAsync(
        string directory,
        string partName,
        string finalName,
        bool overwrite,
        FileStream verified,
        ILogger logger,
        Func<SafeFileHandle, string, int> link,
        CancellationToken cancellationToken)
    {
        var partPath = PartialFile.DataPath(directory, partName);
        if (Describe(verified.SafeFileHandle) is not { } ours)
        {
            return new Publication(null, partPath);
        }

        FileStream? copy = null;
        string? copyPath = null;
        try
        {
            var source = verified.SafeFileHandle;
            var sourceStamp = ours.Stamp;
            for (var attempt = 0; ; attempt++)
            {
                if (copy is null && ours.Links == 0)
                {
                    // Our inode has no name left (another file was renamed over the part, or it was removed): a file with no
                    // name cannot be linked, so its bytes get a new one first.
                    FileTransferLog.PartNameReplaced(logger, partPath);
                    (copy, copyPath) = await CopyAsync(verified.SafeFileHandle, directory, cancellationToken).ConfigureAwait(false);
                    source = copy.SafeFileHandle;
                    sourceStamp = Describe(source)?.Stamp ?? default;
                }

                var sourcePath = copyPath ?? partPath;
                var (finalPath, errno) = overwrite ? Replace(directory, finalName, source, link) : LinkFirstFree(directory, finalName, source, link);
                if (finalPath is not null)
                {
                    // The metadata goes with a part name that was still ours; beside another file it is that file's business.
                    if (Unlink(sourcePath, sourceStamp, logger) && copy is null)
                    {
                        PartialFile.TryDeleteMetadata(directory, partName);
                    }

                    return new Publication(finalPath, sourcePath);
                }

                if (errno == LinkNative.ENOENT && copy is null && attempt == 0 && Describe(verified.SafeFileHandle) is { Links: 0 } now)
                {
                    // Its last name went between the look and the link: copied on the second round.
                    ours = now;
                    continue;
                }

                if (errno is LinkNative.EPERM or LinkNative.ENOSYS or LinkNative.EOPNOTSUPP or LinkNative.EXDEV or LinkNative.ENOENT)
                {
                    if (copy is null && StatxNative.StampOf(partPath) != ours.Stamp)
                    {
                        // A move by name moves what the name leads to, which is no longer our file: our bytes get a name of
                        // their own, and that is moved.
                        FileTransferLog.PartNameReplaced(logger, partPath);
                        (copy, copyPath) = await CopyAsync(verified.SafeFileHandle, directory, cancellationToken).ConfigureAwait(false);
                        sourcePath = copyPath;
                    }

                    FileTransferLog.PublishedByName(logger, sourcePath, errno);
                    return new Publication(null, sourcePath);
                }

                throw new IOException($"Cannot save {finalName} in {directory}: {new Win32Exception(errno).Message}");
            }
        }
        catch when (copyPath is not null)
        {
            File.Delete(copyPath);
            throw;
        }
        finally
        {
            if (copy is not null)
            {
                await copy.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Links <paramref name="source"/> to <paramref name="finalName"/> or the first free <c>name (n).ext</c>; the path, or the errno.</summary>
    private static (string? Path, int Errno) LinkFirstFree(string directory, string finalName, SafeFileHandle source, Func<SafeFileHandle, string, int> link)
    {
        for (var n = 0; n < MaxFinalNames; n++)
        {
            var candidate = Path.Combine(directory, SafeFileName.Candidate(finalName, n));
            var errno = link(source, candidate);
            if (errno != LinkNative.EEXIST)
            {
                return (errno == 0 ? candidate : null, errno);
            }
        }

        throw new IOException($"Cannot save {finalName} in {directory}: {MaxFinalNames} names like it are taken.");
    }

    /// <summary>
    /// Links <paramref name="source"/> to a fresh hidden name in the folder and renames that over <paramref name="finalName"/>;
    /// the path, or the errno of the link. The hidden name is removed if the rename fails.
    /// </summary>
    private static (string? Path, int Errno) Replace(string directory, string finalName, SafeFileHandle source, Func<SafeFileHandle, string, int> link)
    {
        var finalPath = Path.Combine(directory, finalName);
        for (var i = 0; i < MaxHiddenNameTries; i++)
        {
            var hidden = HiddenPath(directory);
            var errno = link(source, hidden);
            if (errno == LinkNative.EEXIST)
            {
                continue;
            }

            if (errno != 0)
            {
                return (null, errno);
            }

            try
            {
                // rename(2): the final name goes from the old file to ours in one step.
                File.Move(hidden, finalPath, overwrite: true);
            }
            catch
            {
                File.Delete(hidden);
                throw;
            }

            return (finalPath, 0);
        }

        throw new IOException($"Cannot save {finalName} in {directory}: no free temporary name.");
    }

    /// <summary>
    /// Removes <paramref name="path"/> if it still names <paramref name="stamp"/>; otherwise leaves it, says so, and returns
    /// false. Another file could take the name between the look and the unlink (no call unlinks a name only if it names a
    /// given inode); the look narrows that to an instant, where before the whole publication was open to it.
    /// </summary>
    private static bool Unlink(string path, PartStamp stamp, ILogger logger)
    {
        if (StatxNative.StampOf(path) != stamp)
        {
            FileTransferLog.PartNameReplaced(logger, path);
            return false;
        }

        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The file is saved: a second name of it left behind costs space, not correctness.
        }

        return true;
    }

    /// <summary>Copies every byte of <paramref name="source"/> into a new hidden file in <paramref name="directory"/>, left open.</summary>
    private static async Task<(FileStream Copy, string Path)> CopyAsync(SafeFileHandle source, string directory, CancellationToken cancellationToken)
    {
        var path = HiddenPath(directory);
        var copy = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            // Ends at the source's end: every read moves on by what it read, and a read of 0 is the end.
            long offset = 0;
            int read;
            while ((read = await RandomAccess.ReadAsync(source, buffer, offset, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await RandomAccess.WriteAsync(copy.SafeFileHandle, buffer.AsMemory(0, read), offset, cancellationToken).ConfigureAwait(false);
                offset += read;
            }

            return (copy, path);
        }
        catch
        {
            await copy.DisposeAsync().ConfigureAwait(false);
            File.Delete(path);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A name no receive and no offer uses, in <paramref name="directory"/>, short whatever the file's name.</summary>
    private static string HiddenPath(string directory) =>
        Path.Combine(directory, $".xft-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");

    private static NoFollowOpenNative.OpenedFile? Describe(SafeFileHandle file)
    {
        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return NoFollowOpenNative.Describe((int)file.DangerousGetHandle());
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
