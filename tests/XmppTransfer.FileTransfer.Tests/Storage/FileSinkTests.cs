using System.Security.Cryptography;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

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

            await sink.CompleteAsync(Ct).WaitAsync(s_cap, Ct);
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

            await sink.CompleteAsync(Ct).WaitAsync(s_cap, Ct);
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

    [Fact]
    public async Task A_write_that_never_returns_fails_the_sink_as_local_io_instead_of_hanging_it()
    {
        // The second write hangs like a write to a dead disk or NFS server: it ignores cancellation and returns only when
        // the test lets it go at the end.
        var path = Path.Combine(_directory, "hung.part");
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        // On a manual clock: the stall is declared when the test moves time, never because the first, real write was slow.
        var clock = new ManualTimeProvider(manualTimers: true);
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;
        ValueTask Write(ReadOnlyMemory<byte> data, long offset, CancellationToken token)
        {
            if (Interlocked.Increment(ref writes) != 2)
            {
                return RandomAccess.WriteAsync(file.SafeFileHandle, data, offset, token);
            }

            stuck.TrySetResult();
            return new ValueTask(hung.Task);
        }

        var sink = new FileSink(file.SafeFileHandle, 0, "hung", null, null, 4096, depth: 2, stallTimeout: TimeSpan.FromMilliseconds(200), write: Write, time: clock);
        try
        {
            // Four blocks through a ring of two: a rent waits on the stuck write until the stall fails the sink.
            var blocks = Task.Run(async () =>
            {
                for (var i = 0; i < 4; i++)
                {
                    var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
                    sink.Commit(buffer, 4096);
                }

                await sink.CompleteAsync(Ct).WaitAsync(s_cap, Ct);
            });
            await stuck.Task.WaitAsync(s_cap, Ct);
            clock.Advance(TimeSpan.FromMilliseconds(199));
            Assert.False(sink.Stalled);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            var failure = await Assert.ThrowsAsync<FileTransferException>(() => blocks.WaitAsync(s_cap, Ct));

            Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
            Assert.Equal("Writing hung stalled: the disk took no data for 0.2 s after 4096 bytes.", failure.Message);
            Assert.True(sink.Stalled);

            // Completing again and disposing return at once although the write is still stuck.
            await Assert.ThrowsAsync<FileTransferException>(() => sink.CompleteAsync(Ct).WaitAsync(s_cap, Ct));
            await sink.DisposeAsync().AsTask().WaitAsync(s_cap, Ct);
            Assert.Equal(4096, new FileInfo(path).Length);
        }
        finally
        {
            hung.TrySetResult();
        }
    }

    [Fact]
    public async Task Cancelling_completion_while_a_write_hangs_gives_up_on_it_after_the_cancel_grace_as_cancelled_and_nothing_is_written_after_it()
    {
        // The second write hangs like a write to a dead disk or NFS server; two more blocks wait behind it. Once let go it
        // returns without writing, so every byte in the file after that would be one the sink wrote after giving up.
        var path = Path.Combine(_directory, "cancelled.part");
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        var clock = new ManualTimeProvider(manualTimers: true);
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;
        var writesAfterRelease = 0;
        async ValueTask Write(ReadOnlyMemory<byte> data, long offset, CancellationToken token)
        {
            if (hung.Task.IsCompleted)
            {
                Interlocked.Increment(ref writesAfterRelease);
            }

            if (Interlocked.Increment(ref writes) != 2)
            {
                await RandomAccess.WriteAsync(file.SafeFileHandle, data, offset, token);
                return;
            }

            stuck.TrySetResult();
            await hung.Task;
        }

        // A stall timeout far beyond the test: only the cancel can end the wait.
        var sink = new FileSink(file.SafeFileHandle, 0, "cancelled", null, null, 4096, depth: 3, stallTimeout: TimeSpan.FromMinutes(10), write: Write, time: clock);
        using var cancel = new CancellationTokenSource();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
                sink.Commit(buffer, 4096);
            }

            await stuck.Task.WaitAsync(s_cap, Ct);
            await cancel.CancelAsync();
            var completion = sink.CompleteAsync(cancel.Token);

            // A write that returns within the grace would still be waited for; this one does not.
            clock.Advance(WriteStallWatch.CancelGrace - TimeSpan.FromMilliseconds(1));
            Assert.False(sink.Stalled);
            Assert.False(completion.IsCompleted);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            var failure = await Assert.ThrowsAsync<OperationCanceledException>(() => completion.WaitAsync(s_cap, Ct));

            Assert.Equal(cancel.Token, failure.CancellationToken);
            Assert.Contains("Cancelled while writing cancelled hung after 4096 bytes", failure.Message, StringComparison.Ordinal);
            Assert.True(sink.Stalled);
            Assert.Equal(4096, sink.Position);
            await sink.DisposeAsync().AsTask().WaitAsync(s_cap, Ct);
            Assert.Equal(4096, new FileInfo(path).Length);

            hung.TrySetResult();
            await sink.AbandonedWrite!.WaitAsync(s_cap, Ct);
            Assert.Equal(0, Volatile.Read(ref writesAfterRelease));
            Assert.Equal(4096, new FileInfo(path).Length);
            Assert.Equal(4096, sink.Position);
        }
        finally
        {
            hung.TrySetResult();
        }
    }

    [Fact]
    public async Task Cancelling_completion_while_writes_return_still_writes_every_committed_block()
    {
        var path = Path.Combine(_directory, "returning.part");
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);

        // On a clock that never moves, the cancel's grace never runs out: only the writes themselves can end the wait.
        var clock = new ManualTimeProvider(manualTimers: true);
        var sink = new FileSink(file.SafeFileHandle, 0, "returning", null, null, 4096, depth: 4, stallTimeout: TimeSpan.FromSeconds(30), time: clock);
        await using (sink)
        {
            for (var i = 0; i < 16; i++)
            {
                var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
                sink.Commit(buffer, 4096);
            }

            using var cancel = new CancellationTokenSource();
            await cancel.CancelAsync();
            await sink.CompleteAsync(cancel.Token).WaitAsync(s_cap, Ct);

            Assert.False(sink.Stalled);
            Assert.Null(sink.AbandonedWrite);
            Assert.Equal(16 * 4096, sink.Position);
        }

        Assert.Equal(16 * 4096, new FileInfo(path).Length);
    }

    [Fact]
    public async Task A_stall_timeout_does_not_fail_a_sink_whose_writes_return()
    {
        var path = Path.Combine(_directory, "steady.part");
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        await using var sink = new FileSink(file.SafeFileHandle, 0, "steady", null, null, 64 * 1024, stallTimeout: TimeSpan.FromSeconds(30));
        for (var i = 0; i < 64; i++)
        {
            var buffer = await sink.RentAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
            sink.Commit(buffer, buffer.Length);
        }

        await sink.CompleteAsync(Ct).WaitAsync(s_cap, Ct);
        Assert.False(sink.Stalled);
        Assert.Equal(64L * 64 * 1024, new FileInfo(path).Length);
    }
}
