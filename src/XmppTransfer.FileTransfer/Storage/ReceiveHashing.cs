using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// The hashes a receive feeds: SHA-256 when the offer has one or the caller wants it reported; MD5 only when it is the
/// sole hash offered (it is the slowest step of a receive otherwise). Nothing at all when there is nothing to verify and
/// nothing is wanted. An HTTP download (XEP-0066) carries at most a SHA-256, so it never feeds MD5.
/// </summary>
internal sealed class ReceiveHashing : IDisposable
{
    private ReceiveHashing(IncrementalHash? sha256, IncrementalHash? md5)
    {
        Sha256 = sha256;
        Md5 = md5;
    }

    public IncrementalHash? Sha256 { get; }

    public IncrementalHash? Md5 { get; }

    public static ReceiveHashing For(PartialFile identity, bool computeSha256)
    {
        var hashing = computeSha256 || identity.Sha256 is not null || identity.Md5 is not null;
        return new ReceiveHashing(
            hashing ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null,
            identity.Md5 is not null && identity.Sha256 is null ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null);
    }

    /// <summary>
    /// Hashes the first <paramref name="length"/> bytes of the part we resume, so the whole file is verified in the end.
    /// Done before the offer is answered: once the sender streams, a receiver busy re-reading a large part would look
    /// silent to it. False (and the hashes reset) when the part cannot be read: start over instead.
    /// </summary>
    public async Task<bool> TryAppendPrefixAsync(string partPath, long length, CancellationToken cancellationToken)
    {
        if (Sha256 is null && Md5 is null)
        {
            return true;
        }

        try
        {
            var part = new FileStream(partPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (part.ConfigureAwait(false))
            {
                if (part.Length < length)
                {
                    Reset();
                    return false;
                }

                await FileHashes.AppendAsync(part, Sha256, Md5, cancellationToken, length).ConfigureAwait(false);
                return true;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Reset();
            return false;
        }
    }

    /// <summary>
    /// True when the bytes fed so far have the SHA-256 <paramref name="sha256"/> (lowercase hex): after the prefix of a
    /// part, that the part already holds the whole file. Nothing is finalised, so feeding (or verifying) goes on as before.
    /// </summary>
    public bool HasSha256(string? sha256) =>
        Sha256 is not null && sha256 is not null && string.Equals(Convert.ToHexStringLower(Sha256.GetCurrentHash()), sha256, StringComparison.Ordinal);

    public void Dispose()
    {
        Sha256?.Dispose();
        Md5?.Dispose();
    }

    /// <summary>Forgets everything fed so far (a resume that turned into a download from the start).</summary>
    public void Reset()
    {
        _ = Sha256?.GetHashAndReset();
        _ = Md5?.GetHashAndReset();
    }
}
