using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// What every transfer test class needs: the next offer (capped), a random source file, a file's SHA-256, the disk
/// space a file holds, a part left by an earlier receive of an offered file, offers that carry only an MD5.
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

    /// <summary>
    /// Both sides resumed from <paramref name="from"/>, moved the rest of the 100,000 bytes, verified them, and left no part
    /// (nor its metadata) behind.
    /// </summary>
    public static void AssertVerifiedFrom(long from, FileTransferResult sent, FileTransferResult received, string source, string part)
    {
        Assert.Equal(from, sent.ResumedFrom);
        Assert.Equal(100_000 - from, sent.BytesTransferred);
        Assert.Equal(from, received.ResumedFrom);
        Assert.Equal(100_000 - from, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(part + ".json"));
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

    /// <summary>
    /// Leaves <c>name.part</c> holding <paramref name="bytes"/>, and its <c>name.part.json</c> naming the file
    /// <paramref name="offer"/> offers, in <paramref name="directory"/>: what an earlier receive of the same file that
    /// stopped (or whose process died) at that point would have left. <paramref name="partName"/> leaves it under another
    /// part name (an alternate, <c>name.ext.2</c>), <paramref name="describe"/> changes what its metadata says (a part of
    /// another file).
    /// </summary>
    public static string LeavePart(
        string directory, IncomingFileOffer offer, byte[] bytes, string? partName = null, Func<PartialFile, PartialFile>? describe = null)
    {
        Directory.CreateDirectory(directory);
        partName ??= offer.SafeName;
        var part = PartialFile.DataPath(directory, partName);
        File.WriteAllBytes(part, bytes);
        var identity = new PartialFile
        {
            Sender = offer.From.Bare.ToString(),
            Name = offer.File.Name,
            Size = offer.File.Size,
            Md5 = offer.File.Md5,
            Sha256 = offer.File.Sha256 is null ? null : Convert.ToHexStringLower(offer.File.Sha256),
        };
        (describe?.Invoke(identity) ?? identity).Save(directory, partName, NullLogger.Instance);
        return part;
    }

    /// <summary>The parts (and part metadata) in <paramref name="directory"/>, by file name in ordinal order.</summary>
    public static string[] Parts(string directory) =>
        [.. Directory.GetFiles(directory).Select(Path.GetFileName).Where(n => n!.Contains(".part", StringComparison.Ordinal)).Order(StringComparer.Ordinal)!];

    /// <summary>
    /// Makes the SI offers of <paramref name="source"/> that pass <paramref name="router"/> carry only the legacy MD5 (as
    /// from a sender without XEP-0300) in place of the SHA-256 our sender gives a receiver that speaks XEP-0300.
    /// </summary>
    public static void OfferOnlyMd5(LoopbackRouter router, string source)
    {
        var md5 = Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(source)));
        router.Intercept = stanza =>
        {
            var file = stanza.Element(XName.Get("si", Namespaces.Si))?.Element(XName.Get("file", Namespaces.SiFileTransfer));
            if (file is not null && stanza.Attribute("type")?.Value == "set")
            {
                file.Elements(XName.Get("hash", Namespaces.Hashes)).Remove();
                file.SetAttributeValue("hash", md5);
            }

            return stanza;
        };
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
