using System.Buffers;
using System.Security.Cryptography;

namespace XmppTransfer.Testing;

/// <summary>Random test files and their SHA-256.</summary>
public static class TestFiles
{
    private const int BufferSize = 81920;

    /// <summary>Writes <paramref name="length"/> random bytes to <paramref name="path"/>.</summary>
    /// <returns>The lowercase hex SHA-256 of what was written.</returns>
    public static async Task<string> CreateRandomAsync(string path, long length, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            long left = length;
            while (left > 0)
            {
                int n = (int)Math.Min(left, BufferSize);
                RandomNumberGenerator.Fill(buffer.AsSpan(0, n));
                hash.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Returns the lowercase hex SHA-256 of the file at <paramref name="path"/>.</summary>
    public static async Task<string> Sha256HexAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        byte[] digest = await SHA256.HashDataAsync(file, cancellationToken);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>Creates a fresh folder under the system temp folder (the caller deletes it).</summary>
    public static string CreateTempDirectory(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>Deletes a folder tree, ignoring what cannot be deleted (best effort for cleanup paths).</summary>
    public static void DeleteDirectoryQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
