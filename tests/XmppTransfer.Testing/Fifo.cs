namespace XmppTransfer.Testing;

/// <summary>
/// A real named pipe, made by mkfifo(1), for tests of code that must never open one. Disposing releases whatever did
/// open it all the same: the path is opened read-write (which on Linux never waits for the other end) and closed again,
/// so an open still waiting for a writer or a reader goes through and then reads end of file or fails its write,
/// instead of holding a thread of the test process for ever.
/// </summary>
public sealed class Fifo : IDisposable
{
    private Fifo(string path) => Path = path;

    public string Path { get; }

    /// <summary>Makes a FIFO at <paramref name="path"/> (mkfifo(1): .NET has no API for it, and P/Invoke would need unsafe code here).</summary>
    public static async Task<Fifo> CreateAsync(string path, CancellationToken cancellationToken)
    {
        var (exit, output) = await ChildProcess.RunAsync("mkfifo", [path], null, TimeSpan.FromSeconds(10), cancellationToken);
        return exit == 0 ? new Fifo(path) : throw new InvalidOperationException($"mkfifo {path} failed ({exit}): {output}");
    }

    public void Dispose()
    {
        try
        {
            // FileMode.Open: a FIFO the code under test replaced by a file is opened and closed untouched, a missing one fails.
            File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite).Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone, replaced by something that cannot be opened, or locked by its new owner: nothing waits on it then.
        }
    }
}
