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

    /// <summary>
    /// The part whose prefix was read (<see cref="TryAppendPrefixAsync"/>, <see cref="TryAppendAllButLastByteAsync"/>): the
    /// resume writes to it only if the name still leads to that very file (<see cref="PartData.Open"/>). Null before, or where
    /// a file's identity cannot be told.
    /// </summary>
    public PartStamp? Part { get; private set; }

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
        try
        {
            // Opened even with nothing to hash: the stamp it gives is what the resume's write open is checked against.
            if (ExistingPart.TryOpen(partPath, write: false, expected: null, out _) is not var (part, stamp))
            {
                Reset();
                return false;
            }

            await using (part.ConfigureAwait(false))
            {
                if (part.Length < length)
                {
                    Reset();
                    return false;
                }

                if (Sha256 is not null || Md5 is not null)
                {
                    await FileHashes.AppendAsync(part, Sha256, Md5, cancellationToken, length).ConfigureAwait(false);
                }

                Part = stamp;
                return true;
            }
        }
        catch (Exception ex) when (ex is (IOException and not PartInUseException) or UnauthorizedAccessException)
        {
            Reset();
            return false;
        }
    }

    /// <summary>
    /// For a part as long as the offered file (<paramref name="length"/> bytes): feeds all of it but its last byte, and
    /// tells whether the whole part has the hash the receive will be verified against (the offered SHA-256, else the
    /// offered MD5), by finishing copies of the hashes with that last byte. True: the part is the file, and the hashes
    /// hold its first <paramref name="length"/> - 1 bytes, so the receive can ask for the last byte and verify the whole
    /// file as usual. False (and the hashes reset): the part is not the file, or cannot be read; start over.
    /// </summary>
    public async Task<bool> TryAppendAllButLastByteAsync(string partPath, long length, PartialFile identity, CancellationToken cancellationToken)
    {
        try
        {
            if (ExistingPart.TryOpen(partPath, write: false, expected: null, out _) is var (part, stamp))
            {
                await using (part.ConfigureAwait(false))
                {
                    if (length > 0 && part.Length >= length)
                    {
                        await FileHashes.AppendAsync(part, Sha256, Md5, cancellationToken, length - 1).ConfigureAwait(false);
                        var last = new byte[1];
                        part.Position = length - 1;
                        await part.ReadExactlyAsync(last, cancellationToken).ConfigureAwait(false);
                        if (WouldMatch(last, identity))
                        {
                            Part = stamp;
                            return true;
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is (IOException and not PartInUseException) or UnauthorizedAccessException)
        {
            // Unreadable: as good as not the file.
        }

        Reset();
        return false;
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
        Part = null;
        _ = Sha256?.GetHashAndReset();
        _ = Md5?.GetHashAndReset();
    }

    /// <summary>Whether the bytes fed so far and then <paramref name="last"/> have the offered hash; what was fed stays as it is.</summary>
    private bool WouldMatch(byte[] last, PartialFile identity)
    {
        // The same hash the end of the receive compares: SHA-256 when offered, else MD5 (which is fed only then).
        var (hash, expected) = identity.Sha256 is not null ? (Sha256, identity.Sha256) : (Md5, identity.Md5);
        if (hash is null || expected is null)
        {
            return false;
        }

        using var whole = hash.Clone();
        whole.AppendData(last);
        return string.Equals(Convert.ToHexStringLower(whole.GetHashAndReset()), expected, StringComparison.OrdinalIgnoreCase);
    }
}
