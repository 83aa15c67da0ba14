namespace XmppTransfer.Benchmarks;

/// <summary>
/// The state of the memory a file -> file sample's receiver fills with the new file's page cache, set before the clock
/// starts. On this VM it decides the result on its own: the balloon device's free page reporting hands memory the guest
/// freed about 2 s ago back to the host, and the next touch faults on the host. Writing a new 1 GiB file from one buffer
/// ran at 5,268-5,608 MiB/s up to 1 s after a file of that size was deleted and at 641-970 MiB/s 2-5 s after (session
/// 14, a plain <c>write</c> loop, no .NET), which is 0.2-0.3x of loopback TCP here: no receiver of any design reaches
/// 60 % of raw TCP in that state, and raw TCP, which reuses two buffers, never meets it. Which state a sample met used to
/// depend on how long writing and syncing its source file took (docs/benchmarks.md, sessions 7 and 14).
/// </summary>
internal enum ReceiverMemory
{
    /// <summary>Whatever the memory is in: no waiting, no scratch file (warm-up passes, and rows bounded by other things).</summary>
    AsItIs,

    /// <summary>Memory freed just before, as on a machine without free page reporting: the target rows.</summary>
    Warm,

    /// <summary>Memory the host has taken back (3 s idle first): what a cold receive on this VM meets, shown beside.</summary>
    HandedBack,
}

/// <summary>Puts the receiver's memory into a <see cref="ReceiverMemory"/> state, outside any timed region.</summary>
internal static class ReceiverMemoryState
{
    /// <summary>
    /// Longer than the free page reporting's delay (2 s from the first page freed after an idle spell): long enough for a
    /// reporting pass over what the previous sample freed to have run, and for the reporting to be idle again.
    /// </summary>
    private static readonly TimeSpan s_settle = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// For <see cref="ReceiverMemory.Warm"/>: waits for the reporting to settle, then writes a scratch file of
    /// <paramref name="size"/> bytes under <paramref name="work"/> and deletes it, so that the sample's page cache comes
    /// from memory touched a moment ago, and the next reporting pass, which that deletion schedules, comes 2 s later,
    /// after the receiver has taken its pages (a 1 GiB receive takes them within about a second even from memory the
    /// host took back). Without the settling, a pass left scheduled by the previous sample could hand the freed pages back
    /// in the middle of a transfer, one sample in four or so. For <see cref="ReceiverMemory.HandedBack"/>: the same wait
    /// and no scratch file, so that the receiver meets memory the host has taken back.
    /// </summary>
    public static async Task PrepareAsync(string work, long size, ReceiverMemory state)
    {
        if (state == ReceiverMemory.AsItIs)
        {
            return;
        }

        // Not synchronisation: the experimental condition itself (the host reclaims on its own schedule).
        await Task.Delay(state == ReceiverMemory.HandedBack ? s_settle + TimeSpan.FromMilliseconds(500) : s_settle);
        if (state == ReceiverMemory.HandedBack)
        {
            return;
        }

        var path = Path.Combine(work, "receiver-memory.bin");
        var buffer = new byte[1 << 20];
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, size);
            PageCacheFill.Fill(file, size, buffer);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
