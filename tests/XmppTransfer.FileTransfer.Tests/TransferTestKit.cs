using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// What every transfer test class needs: the next offer (capped), a random source file, a file's SHA-256, the disk
/// space a file holds.
/// </summary>
internal static class TransferTestKit
{
    public static async Task<IncomingFileOffer> NextOfferAsync(FileTransferManager receiver, TimeSpan cap)
    {
        using var timeout = new CancellationTokenSource(cap);
        await foreach (var offer in receiver.ReceiveOffersAsync(timeout.Token))
        {
            return offer;
        }

        throw new InvalidOperationException("The offers ended.");
    }

    public static string MakeFile(string root, string name, int size)
    {
        var directory = Directory.CreateDirectory(Path.Combine(root, "out")).FullName;
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>Disk space the file holds (blocks), which a part's preallocation must not leave behind after a failure.</summary>
    public static async Task<long> AllocatedBytesAsync(string path, TimeSpan cap)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var output = await stat.StandardOutput.ReadToEndAsync().WaitAsync(cap);
        await stat.WaitForExitAsync().WaitAsync(cap);
        var parts = output.Trim().Split(' ');
        return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
