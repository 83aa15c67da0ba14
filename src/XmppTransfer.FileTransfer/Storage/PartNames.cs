using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Which <c>name.part</c> each receive in this process writes, and the move of a finished part to its final name.
/// Two receives of one name into one folder at the same time (the same file sent twice in a row, two senders' "photo.jpg")
/// would otherwise share a part: the second would resume from, discard or rename the first's bytes under it. The second
/// gets <c>name.ext.2.part</c> instead (a name no offer maps to an ordinary file's part); both still end under the offered
/// name (made unique, unless overwriting). Names compare without case: on Windows and macOS two names that differ only in
/// case are one file, and elsewhere a false match only costs an alternate name.
/// <para>
/// A receive that fails under an alternate name leaves its bytes in <c>name.ext.N.part</c>. The next offer of that file
/// finds the primary name free again, so a lease for a receive that may resume first looks for a part of that very file
/// (<see cref="PartialFile.ResumableLength"/>) that no receive holds, under the primary name and then the alternates,
/// and takes it; otherwise those bytes would never be resumed from nor removed.
/// </para>
/// </summary>
internal static class PartNames
{
    /// <summary>
    /// The alternates (<c>name.ext.2</c> to <c>name.ext.32</c>) a lease looks at for a part to resume. Alternates exist only
    /// while receives of one name overlap, so a few are all there ever are; the bound keeps an offer's cost to a fixed
    /// number of file lookups whatever lies in the folder.
    /// </summary>
    internal const int MaxResumeCandidates = 32;

    private static readonly HashSet<string> s_held = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Lock s_gate = new();

    /// <summary>
    /// Claims a part name for a receive of <paramref name="safeName"/> into <paramref name="directory"/>. With
    /// <paramref name="resumable"/> (the file, when the receive may resume), the first of <paramref name="safeName"/>,
    /// <c>safeName.2</c> ... <c>safeName.32</c> that no receive holds and whose part can be resumed for that file;
    /// otherwise, and when there is none, <paramref name="safeName"/> or the first free <c>safeName.n</c>: free means no
    /// receive of this process holds it, no other process has its part open and locked (<see cref="InUseElsewhere"/>), and
    /// no other process's lease holds its <c>.part.lock</c> (<see cref="PartLock"/>, Linux), which is taken here: the look
    /// at the part alone misses a receive of another process that chose the name but has not opened its part yet.
    /// </summary>
    public static Lease Take(string directory, string safeName, PartialFile? resumable = null)
    {
        var folder = Path.GetFullPath(directory);
        if (resumable is not null && TakeResumable(folder, safeName, resumable) is { } lease)
        {
            return lease;
        }

        for (var i = 1; ; i++)
        {
            var name = NameAt(safeName, i);
            var key = Path.Combine(folder, name);

            if (IsHeld(key) || Claim(key, folder, name) is not { } claimed)
            {
                continue;
            }

            // Looked at only once claimed: a receive of another process that holds this name's .part.lock may be opening or
            // hashing its part this very moment, and our probe's brief lock would make that fail (its resume refused, or
            // LocalIo). With the claim ours, whoever has the part open is not such a receive (an older xft, another program).
            // On our disk, outside the gate: other receives do not wait on it.
            if (InUseElsewhere(folder, name))
            {
                claimed.Dispose();
                continue;
            }

            return claimed;
        }
    }

    /// <summary>
    /// Claims <paramref name="name"/> in this process (under the gate), then against other processes (<see cref="PartLock"/>,
    /// outside it: other receives do not wait on our disk); null, with nothing held, when either has it already.
    /// </summary>
    private static Lease? Claim(string key, string folder, string name)
    {
        lock (s_gate)
        {
            if (!s_held.Add(key))
            {
                return null;
            }
        }

        if (PartLock.TryTake(folder, name, out var held))
        {
            return new Lease(key, name, held);
        }

        lock (s_gate)
        {
            s_held.Remove(key);
        }

        return null;
    }

    private static bool IsHeld(string key)
    {
        lock (s_gate)
        {
            return s_held.Contains(key);
        }
    }

    /// <summary>
    /// Whether the part <paramref name="name"/> is held locked by another open of it: a receive in another process (a second
    /// <c>xft receive</c> into the same folder) writing or hashing it, which this process's leases do not see. A fresh
    /// receive starting over under that name would unlink the file the other one writes to, and whichever finished first
    /// would then move the other's bytes to its final name as its own verified file. Such a name is passed over like a
    /// held one. Anything else (no part, a link, a FIFO, a part we may not open) is not in use: the receive deals with it.
    /// </summary>
    private static bool InUseElsewhere(string folder, string name)
    {
        try
        {
            if (ExistingPart.TryOpen(PartialFile.DataPath(folder, name), write: true, expected: null, out _) is var (stream, _))
            {
                stream.Dispose();
            }

            return false;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            // Locked (PartInUseException on Linux, .NET's sharing violation elsewhere), or unreadable: an alternate name is safe.
            return true;
        }
    }

    /// <summary>
    /// The first free name among the candidates whose part <paramref name="file"/> can resume from, claimed; null when none.
    /// The metadata is read outside the gate (other receives do not wait on our disk), so a name is checked free before it
    /// is read and claimed after: a receive that claimed it in between keeps it, and we look on. A part that cannot be read
    /// counts as none: a look for bytes to reuse must not fail a receive that would otherwise start from 0.
    /// </summary>
    private static Lease? TakeResumable(string folder, string safeName, PartialFile file)
    {
        for (var i = 1; i <= MaxResumeCandidates; i++)
        {
            var name = NameAt(safeName, i);
            var key = Path.Combine(folder, name);
            if (IsHeld(key) || !CanResume(folder, name, file))
            {
                continue;
            }

            if (Claim(key, folder, name) is { } lease)
            {
                return lease;
            }
        }

        return null;

        static bool CanResume(string folder, string name, PartialFile file)
        {
            try
            {
                return PartialFile.ResumableLength(folder, name, file) > 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    /// <summary>The <paramref name="n"/>th part name for <paramref name="safeName"/>: itself, then <c>safeName.2</c>, <c>safeName.3</c>, ...</summary>
    private static string NameAt(string safeName, int n) => n == 1 ? safeName : $"{safeName}.{n}";

    /// <summary>
    /// Saves the finished, verified part <paramref name="partName"/> as <paramref name="finalName"/> (replacing a file of that
    /// name when <paramref name="overwrite"/>, else under the first free <c>name (n).ext</c>) and returns the final path.
    /// <paramref name="verified"/> is the part's open file, whose bytes were written and hashed through it; it is disposed
    /// here. On Linux the very file it is gets the final name (<see cref="PartPublication"/>), whatever the name
    /// <c>name.part</c> leads to by then, and it is closed (its lock released) only once that name is gone. Elsewhere, and
    /// where the file system refuses links, it is closed and the part moved by name; moves by name in this process take
    /// turns, and a final name taken in between (by another process) moves the file on to the next free one.
    /// <paramref name="link"/> replaces <see cref="LinkNative.LinkOpenFile"/> (tests: a file system that refuses links, a
    /// name taken at the last moment).
    /// </summary>
    public static async Task<string> CommitAsync(
        string directory,
        string partName,
        string finalName,
        bool overwrite,
        FileStream verified,
        ILogger logger,
        CancellationToken cancellationToken,
        Func<SafeFileHandle, string, int>? link = null)
    {
        var source = PartialFile.DataPath(directory, partName);
        await using (verified.ConfigureAwait(false))
        {
            if (NoFollowOpenNative.IsSupported)
            {
                try
                {
                    var published = await PartPublication.PublishAsync(
                        directory, partName, finalName, overwrite, verified, logger, link ?? LinkNative.LinkOpenFile, cancellationToken).ConfigureAwait(false);
                    if (published.FinalPath is { } done)
                    {
                        return done;
                    }

                    source = published.ByName;
                }
                catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
                {
                    // A C library without linkat or statx (musl): the move by name below, as everywhere else.
                    NoFollowOpenNative.MarkUnavailable();
                }
            }
        }

        // Closed first: elsewhere (Windows) an open file cannot be moved.
        var finalPath = MoveByName(directory, source, finalName, overwrite);
        if (source == PartialFile.DataPath(directory, partName))
        {
            PartialFile.TryDeleteMetadata(directory, partName);
        }

        return finalPath;
    }

    /// <summary>
    /// Moves <paramref name="source"/> to <paramref name="finalName"/> (replacing it when <paramref name="overwrite"/>), else to
    /// the first free <c>name (n).ext</c>: a name taken between the look and the move (the move never replaces then) sends it
    /// on to the next.
    /// </summary>
    private static string MoveByName(string directory, string source, string finalName, bool overwrite)
    {
        for (var tries = 0; ; tries++)
        {
            lock (s_gate)
            {
                var finalPath = FinalPath(directory, finalName, overwrite);
                try
                {
                    File.Move(source, finalPath, overwrite);
                    return finalPath;
                }
                catch (IOException) when (!overwrite && tries < PartPublication.MaxFinalNames && Path.Exists(finalPath) && File.Exists(source))
                {
                    // Taken since the look, by another process: the next free name.
                }
            }
        }
    }

    /// <summary>
    /// Where a file finished now would be saved: <paramref name="finalName"/> itself when <paramref name="overwrite"/>, else the
    /// first free <c>name (n).ext</c>. <see cref="CommitAsync"/> applies the same rule when the file is complete, so a name taken in
    /// between moves the file on to the next free one.
    /// </summary>
    public static string FinalPath(string directory, string finalName, bool overwrite) =>
        overwrite ? Path.Combine(directory, finalName) : SafeFileName.Unique(directory, finalName);

    /// <summary>One receive's claim on a part name, with its lock against other processes where there is one; disposing releases both.</summary>
    internal sealed class Lease(string key, string name, PartLock? held) : IDisposable
    {
        private int _released;

        /// <summary>The file name whose <c>.part</c> (and <c>.part.json</c>) this receive owns.</summary>
        public string Name { get; } = name;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                // The other processes' claim first: a receive of ours that takes the name next then finds it free there too.
                held?.Dispose();
                lock (s_gate)
                {
                    s_held.Remove(key);
                }
            }
        }
    }
}
