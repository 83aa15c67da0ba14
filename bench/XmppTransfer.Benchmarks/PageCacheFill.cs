using System.Diagnostics;

namespace XmppTransfer.Benchmarks;

/// <summary>
/// What any receiver has to do at the least, with no network at all: fill a new, preallocated file of the transfer's size
/// from one 1 MiB buffer that stays in the CPU cache (pwrite, as the buffered receive does; no fsync, as no receive does).
/// Every file -> file row has to put the same bytes into fresh page-cache pages, so on one receiving thread it cannot run
/// faster than this. On this VM that depends on the memory's state (<see cref="ReceiverMemory"/>): fresh guest memory is
/// backed by the host on first touch (free page reporting hands freed memory back after about 2 s), and a 1 GiB fill runs
/// at about 1 GB/s in memory the host took back against 5 GB/s in memory freed just before.
/// </summary>
internal static class PageCacheFill
{
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Seconds to write <paramref name="size"/> bytes into a new file under <paramref name="work"/>, which is deleted after,
    /// with the memory in <paramref name="memory"/>'s state when the clock starts.
    /// </summary>
    public static async Task<double> MeasureAsync(string work, long size, ReceiverMemory memory)
    {
        var path = Path.Combine(work, "page-cache-fill.bin");
        var buffer = new byte[BufferSize];
        Random.Shared.NextBytes(buffer);
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, size);
            await ReceiverMemoryState.PrepareAsync(work, size, memory);
            var clock = Stopwatch.StartNew();
            Fill(file, size, buffer);
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Writes <paramref name="size"/> bytes into <paramref name="file"/> from <paramref name="buffer"/>, again and again.</summary>
    public static void Fill(Microsoft.Win32.SafeHandles.SafeFileHandle file, long size, byte[] buffer)
    {
        for (long offset = 0; offset < size; offset += buffer.Length)
        {
            RandomAccess.Write(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - offset)), offset);
        }
    }
}
