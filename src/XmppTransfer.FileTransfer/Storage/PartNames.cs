namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// Which <c>name.part</c> each receive in this process writes, and the move of a finished part to its final name.
/// Two receives of one name into one folder at the same time (the same file sent twice in a row, two senders' "photo.jpg")
/// would otherwise share a part: the second would resume from, discard or rename the first's bytes under it. The second
/// gets <c>name.ext.2.part</c> instead (a name no offer maps to an ordinary file's part); both still end under the offered
/// name (made unique, unless overwriting). Names compare without case: on Windows and macOS two names that differ only in
/// case are one file, and elsewhere a false match only costs an alternate name.
/// </summary>
internal static class PartNames
{
    private static readonly HashSet<string> s_held = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Lock s_gate = new();

    /// <summary>Claims <paramref name="safeName"/> in <paramref name="directory"/>, or the first free <c>safeName.n</c>.</summary>
    public static Lease Take(string directory, string safeName)
    {
        var folder = Path.GetFullPath(directory);
        lock (s_gate)
        {
            for (var i = 1; ; i++)
            {
                var name = i == 1 ? safeName : $"{safeName}.{i}";
                if (s_held.Add(Path.Combine(folder, name)))
                {
                    return new Lease(Path.Combine(folder, name), name);
                }
            }
        }
    }

    /// <summary>
    /// Moves the finished part <paramref name="partName"/> to <paramref name="finalName"/> (replacing a file of that name when
    /// <paramref name="overwrite"/>, else to the first free <c>name (n).ext</c>) and returns the final path. Moves in this
    /// process take turns, so two that finish together cannot both pick the same free name.
    /// </summary>
    public static string Commit(string directory, string partName, string finalName, bool overwrite)
    {
        string finalPath;
        lock (s_gate)
        {
            finalPath = overwrite ? Path.Combine(directory, finalName) : SafeFileName.Unique(directory, finalName);
            File.Move(PartialFile.DataPath(directory, partName), finalPath, overwrite);
        }

        try
        {
            File.Delete(PartialFile.MetadataPath(directory, partName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The file is saved: a metadata file left behind describes a part that no longer exists and is never resumed from.
        }

        return finalPath;
    }

    /// <summary>One receive's claim on a part name; disposing releases it.</summary>
    internal sealed class Lease(string key, string name) : IDisposable
    {
        private int _released;

        /// <summary>The file name whose <c>.part</c> (and <c>.part.json</c>) this receive owns.</summary>
        public string Name { get; } = name;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                lock (s_gate)
                {
                    s_held.Remove(key);
                }
            }
        }
    }
}
