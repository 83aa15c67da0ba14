using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// A receive's claim on a part name that other processes see (Linux): <c>name.part.lock</c>, created if missing and held
/// under an exclusive flock(2) for as long as the lease (<see cref="PartNames.Lease"/>). The leases of one process are a
/// set in its memory, and the look at the part itself (<see cref="PartNames"/>: is it open and locked?) sees a receive of
/// another process only once that one has opened its part, seconds after it chose the name (the offer is answered and a
/// bytestream set up in between); two <c>xft receive</c> into one folder that took the same name in that window would
/// both write <c>name.part</c>, the second unlinking the first's file under it. The lock is taken when the name is chosen,
/// so the second passes over the name as over one its own process holds. A lock file can be unlinked by its holder
/// between another's open and lock; whoever gets the lock therefore checks that the name still leads to the file it
/// locked, and tries again if not. Released, the name is removed before the lock: a file left by a crash holds no lock
/// and is taken over by the next receive of that name. Anything else at the name (a link, a FIFO, a file we may not open,
/// a file system without flock) gives no claim and no refusal: the receive goes on as without the lock, as it would
/// elsewhere.
/// </summary>
internal sealed class PartLock : IDisposable
{
    /// <summary>Looks after a lock file unlinked under us before giving up the claim (not the receive).</summary>
    private const int MaxTries = 4;

    private const ushort SIfReg = 0x8000;

    private readonly SafeFileHandle _handle;
    private readonly string _path;
    private readonly PartStamp _stamp;

    private PartLock(SafeFileHandle handle, string path, PartStamp stamp)
    {
        _handle = handle;
        _path = path;
        _stamp = stamp;
    }

    public static string PathFor(string folder, string name) => PartialFile.DataPath(folder, name) + ".lock";

    /// <summary>
    /// Claims <paramref name="name"/> in <paramref name="folder"/> against other processes: false when one holds it;
    /// otherwise true, with the lock in <paramref name="held"/>, or null where no lock could be taken (not Linux, see the
    /// class remarks).
    /// </summary>
    public static bool TryTake(string folder, string name, out PartLock? held)
    {
        held = null;
        if (!NoFollowOpenNative.IsSupported)
        {
            return true;
        }

        var path = PathFor(folder, name);
        try
        {
            for (var i = 0; i < MaxTries; i++)
            {
                var (fd, _) = NoFollowOpenNative.OpenNoFollow(path, NoFollowOpenNative.ReadWrite | NoFollowOpenNative.Create);
                if (fd < 0)
                {
                    return true;
                }

                var handle = new SafeFileHandle(fd, ownsHandle: true);
                if (NoFollowOpenNative.Describe(fd) is not { Type: SIfReg, Links: 1 } opened)
                {
                    handle.Dispose();
                    return true;
                }

                var errno = NoFollowOpenNative.TryLock(fd, exclusive: true);
                if (errno != 0)
                {
                    handle.Dispose();
                    return !NoFollowOpenNative.IsLockedElsewhere(errno);
                }

                if (StatxNative.StampOf(path) == opened.Stamp)
                {
                    held = new PartLock(handle, path, opened.Stamp);
                    return true;
                }

                // Its holder removed it between our open and our lock: the name may hold a new one, locked by someone else.
                handle.Dispose();
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            NoFollowOpenNative.MarkUnavailable();
        }

        return true;
    }

    /// <summary>Removes the lock file (if it is still ours), then releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            if (StatxNative.StampOf(_path) == _stamp)
            {
                File.Delete(_path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind, it holds no lock: the next receive of the name takes it over.
        }
        finally
        {
            _handle.Dispose();
        }
    }
}
