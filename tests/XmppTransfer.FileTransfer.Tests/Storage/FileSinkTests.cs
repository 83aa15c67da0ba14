using System.Security.Cryptography;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>The receive pipeline's writer and hasher: order, hashes, failures, teardown.</summary>
public sealed class FileSinkTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-sink-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Blocks_land_in_commit_order_after_the_resume_offset_and_are_hashed_in_the_same_order()
    {
        var path = Path.Combine(_directory, "ordered.part");
        var prefix = RandomNumberGenerator.GetBytes(100);
        await File.WriteAllBytesAsync(path, prefix, Ct);
        using var expectedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var expected = new MemoryStream();
        expected.Write(prefix);

        await using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous))
        await using (var sink = new FileSink(file.SafeFileHandle, prefix.Length, "ordered", sha256, md5, 4096, depth: 3))
        {
            for (var i = 0; i < 200; i++)
            {
                var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
                var count = i % 7 == 0 ? sink.BufferSize : 1 + Random.Shared.Next(sink.BufferSize);
                RandomNumberGenerator.Fill(buffer.AsSpan(0, count));
                expected.Write(buffer, 0, count);
                expectedHash.AppendData(buffer, 0, count);
                sink.Commit(buffer, count);
            }

            await sink.CompleteAsync().WaitAsync(s_cap, Ct);
            Assert.Equal(expected.Length, sink.Position);
        }

        Assert.Equal(expected.ToArray(), await File.ReadAllBytesAsync(path, Ct));
        Assert.Equal(expectedHash.GetHashAndReset(), sha256.GetHashAndReset());
        Assert.Equal(MD5.HashData(expected.ToArray().AsSpan(prefix.Length)), md5.GetHashAndReset());
    }

    [Fact]
    public async Task A_full_disk_surfaces_as_a_local_io_error_instead_of_being_lost()
    {
        // /dev/full fails every write with ENOSPC, exactly like a full disk.
        await using var file = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        await using var sink = new FileSink(file.SafeFileHandle, 0, "full", null, null, 4096);

        var failure = await Assert.ThrowsAsync<FileTransferException>(async () =>
        {
            // The write fails in the background; the failure shows on a later rent or at completion, never silently.
            for (var i = 0; i < 100; i++)
            {
                var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
                sink.Commit(buffer, 4096);
            }

            await sink.CompleteAsync().WaitAsync(s_cap, Ct);
        });

        Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
        Assert.StartsWith("Writing full failed", failure.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(failure.InnerException);
    }

    [Fact]
    public async Task Disposing_without_completing_returns_even_with_blocks_still_queued()
    {
        var path = Path.Combine(_directory, "abandoned.part");
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        var sink = new FileSink(file.SafeFileHandle, 0, "abandoned", sha256, null, 1024 * 1024);
        for (var i = 0; i < 4; i++)
        {
            sink.Commit(await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct), 1024 * 1024);
        }

        await sink.DisposeAsync().AsTask().WaitAsync(s_cap, Ct);

        // Whatever got written before the stop is whole blocks at their offsets, never a torn one.
        var length = new FileInfo(path).Length;
        Assert.InRange(length, 0, 4 * 1024 * 1024);
        Assert.Equal(0, length % (1024 * 1024));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct));
    }
}
