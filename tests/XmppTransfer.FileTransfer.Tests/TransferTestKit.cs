using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>What every transfer test class needs: the next offer (capped), a random source file, a file's SHA-256.</summary>
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
}
