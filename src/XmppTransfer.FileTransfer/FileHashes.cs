using System.Buffers;
using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer;

/// <summary>MD5 (the legacy SI attribute) and SHA-256 (XEP-0300) of a file in one streaming pass.</summary>
public sealed record FileHashes(string Md5, byte[] Sha256)
{
    public string Sha256Hex => Convert.ToHexStringLower(Sha256);

    /// <summary>Hashes from the current position to the end, with a fixed buffer: memory does not grow with the file.</summary>
    public static async Task<FileHashes> ComputeAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, 1024 * 1024), cancellationToken).ConfigureAwait(false)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                sha256.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new FileHashes(Convert.ToHexStringLower(md5.GetHashAndReset()), sha256.GetHashAndReset());
    }
}
