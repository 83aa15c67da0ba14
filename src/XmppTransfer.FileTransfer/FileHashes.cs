using System.Buffers;
using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer;

/// <summary>SHA-256 (XEP-0300) and, for peers that only know the legacy SI <c>hash</c> attribute, MD5 of a file in one streaming pass.</summary>
public sealed record FileHashes(string? Md5, byte[] Sha256)
{
    private const int BlockSize = 1024 * 1024;

    public string Sha256Hex => Convert.ToHexStringLower(Sha256);

    /// <summary>SHA-256 and MD5 from the current position to the end, with fixed buffers: memory does not grow with the file.</summary>
    public static Task<FileHashes> ComputeAsync(Stream content, CancellationToken cancellationToken = default) =>
        ComputeAsync(content, includeMd5: true, cancellationToken);

    /// <summary>
    /// SHA-256 and, when <paramref name="includeMd5"/>, MD5 from the current position to the end. MD5 is the slower of
    /// the two (about half of SHA-256 on CPUs with SHA extensions), so it is computed only when a peer needs it, and then on
    /// a second thread alongside SHA-256.
    /// </summary>
    public static async Task<FileHashes> ComputeAsync(Stream content, bool includeMd5, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = includeMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        await AppendAsync(content, sha256, md5, cancellationToken).ConfigureAwait(false);
        return new FileHashes(md5 is null ? null : Convert.ToHexStringLower(md5.GetHashAndReset()), sha256.GetHashAndReset());
    }

    /// <summary>
    /// Feeds the rest of <paramref name="content"/>, at most <paramref name="limit"/> bytes, to the given hashes (either may
    /// be null). The next block is read while the current one is hashed; two hashes run side by side.
    /// </summary>
    internal static async Task AppendAsync(
        Stream content, IncrementalHash? first, IncrementalHash? second, CancellationToken cancellationToken, long limit = long.MaxValue)
    {
        var current = ArrayPool<byte>.Shared.Rent(BlockSize);
        var next = ArrayPool<byte>.Shared.Rent(BlockSize);
        var reading = ValueTask.FromResult(0);
        try
        {
            var left = limit;
            var count = await content.ReadAsync(current.AsMemory(0, (int)Math.Min(BlockSize, left)), cancellationToken).ConfigureAwait(false);
            while (count > 0)
            {
                left -= count;
                reading = left > 0 ? content.ReadAsync(next.AsMemory(0, (int)Math.Min(BlockSize, left)), cancellationToken) : ValueTask.FromResult(0);
                var block = current;
                var length = count;
                if (first is not null && second is not null)
                {
                    var side = Task.Run(() => second.AppendData(block, 0, length), cancellationToken);
                    first.AppendData(block, 0, length);
                    await side.ConfigureAwait(false);
                }
                else
                {
                    (first ?? second)?.AppendData(block, 0, length);
                }

                var pending = reading;
                reading = ValueTask.FromResult(0);
                count = await pending.ConfigureAwait(false);
                (current, next) = (next, current);
            }
        }
        finally
        {
            // A read still in flight writes into one of the buffers: it must end before they go back to the pool.
            try
            {
                await reading.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // Already failing; the first error is the one that matters.
            }

            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }
}
