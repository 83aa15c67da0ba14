using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.FileTransfer.Storage.Linux;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>The Linux zero-copy receive: socket -> pipe -> file with splice(2), its bounds, its errors and its fallback.</summary>
public sealed partial class SocketFileSpliceTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-splice-").FullName;
    private Socket _sender = null!;
    private Socket _receiver = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await _sender.ConnectAsync(listener.LocalEndPoint!, Ct).AsTask().WaitAsync(s_cap, Ct);
        _receiver = await listener.AcceptAsync(Ct).AsTask().WaitAsync(s_cap, Ct);
    }

    public ValueTask DisposeAsync()
    {
        _sender.Dispose();
        _receiver.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Bytes_sent_in_uneven_pieces_land_in_the_file_after_the_offset_and_nothing_past_the_count_is_taken()
    {
        using var splice = SocketFileSplice.TryCreate();
        Assert.NotNull(splice);
        var payload = RandomNumberGenerator.GetBytes((3 * 1024 * 1024) + 77);
        byte[] extra = [.. "after the file"u8];
        var path = Path.Combine(_directory, "file.part");
        var prefix = RandomNumberGenerator.GetBytes(1000);
        await File.WriteAllBytesAsync(path, prefix, Ct);
        var reports = new List<long>();

        var send = SendInPiecesAsync([.. payload, .. extra]);
        SpliceOutcome outcome;
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            outcome = await splice.MoveAsync(_receiver, file, prefix.Length, payload.Length, "file", reports.Add, Ct, Ct).WaitAsync(s_cap, Ct);
        }

        await send.WaitAsync(s_cap, Ct);
        Assert.Equal(SpliceOutcome.Done, outcome);
        Assert.Equal(payload.Length, splice.Moved);
        byte[] expected = [.. prefix, .. payload];
        Assert.Equal(expected, await File.ReadAllBytesAsync(path, Ct));
        Assert.Equal(payload.Length, reports[^1]);
        Assert.Equal(reports.Order(), reports);

        // What followed the counted bytes is still in the socket for whoever reads next.
        Assert.Equal(extra, await ReceiveExactlyAsync(extra.Length));
    }

    [Fact]
    public async Task A_peer_that_closes_early_ends_the_move_with_every_byte_it_sent_in_the_file()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        var payload = RandomNumberGenerator.GetBytes(200_000);
        var path = Path.Combine(_directory, "short.part");

        await _sender.SendAsync(payload, Ct).AsTask().WaitAsync(s_cap, Ct);
        _sender.Shutdown(SocketShutdown.Send);
        var outcome = await MoveIntoAsync(splice, path, 1_000_000);

        Assert.Equal(SpliceOutcome.Ended, outcome);
        Assert.Equal(payload.Length, splice.Moved);
        Assert.Equal(payload, await File.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task A_silent_peer_is_waited_for_only_until_the_wait_token_fires_and_what_arrived_stays_counted()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        await _sender.SendAsync(new byte[5000], Ct).AsTask().WaitAsync(s_cap, Ct);
        using var wait = new CancellationTokenSource();
        using var file = File.OpenHandle(Path.Combine(_directory, "silent.part"), FileMode.Create, FileAccess.ReadWrite);

        // The wait is bounded from the moment the last byte the peer sent has been moved, as a watchdog would be.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => splice.MoveAsync(
            _receiver, file, 0, 10_000, "silent", moved => wait.CancelAfter(moved == 5000 ? TimeSpan.FromMilliseconds(300) : Timeout.InfiniteTimeSpan), wait.Token, Ct).WaitAsync(s_cap, Ct));

        Assert.Equal(5000, splice.Moved);
    }

    [Fact]
    public async Task A_reset_connection_is_an_io_error()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        await _sender.SendAsync(new byte[100], Ct).AsTask().WaitAsync(s_cap, Ct);

        // Closing with linger zero makes the kernel send a reset instead of a FIN.
        _sender.LingerState = new LingerOption(true, 0);
        _sender.Close();

        var error = await Record.ExceptionAsync(() => MoveIntoAsync(splice, Path.Combine(_directory, "reset.part"), 10_000));

        // The 100 bytes may or may not be read before the reset is seen; the reset itself must surface as an I/O error.
        var io = Assert.IsType<IOException>(error);
        Assert.IsType<SocketException>(io.InnerException);
    }

    [Fact]
    public async Task A_file_that_cannot_take_a_splice_gets_the_bytes_through_a_buffer_and_the_rest_stays_in_the_socket()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        var payload = RandomNumberGenerator.GetBytes(300_000);
        var path = Path.Combine(_directory, "append.part");

        // The kernel refuses to splice into a file opened for appending (EINVAL), as file systems without splice do.
        await _sender.SendAsync(payload, Ct).AsTask().WaitAsync(s_cap, Ct);
        var outcome = await MoveIntoAsync(splice, path, payload.Length, OpenForAppending);

        Assert.Equal(SpliceOutcome.Unsupported, outcome);
        Assert.InRange(splice.Moved, 1, payload.Length);
        Assert.Equal(payload.AsSpan(0, (int)splice.Moved).ToArray(), await File.ReadAllBytesAsync(path, Ct));
        Assert.Equal(payload.AsSpan((int)splice.Moved).ToArray(), await ReceiveExactlyAsync(payload.Length - (int)splice.Moved));
    }

    [Fact]
    public async Task A_file_the_kernel_refuses_to_write_is_a_local_io_error_naming_the_file()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        await _sender.SendAsync(new byte[10_000], Ct).AsTask().WaitAsync(s_cap, Ct);

        // A handle opened for reading: splice into it fails with EBADF, the splice's own write error path.
        var path = Path.Combine(_directory, "readonly.part");
        await File.WriteAllBytesAsync(path, [], Ct);
        var failure = await Assert.ThrowsAsync<FileTransferException>(
            () => MoveIntoAsync(splice, path, 10_000, p => File.OpenHandle(p, FileMode.Open, FileAccess.Read)));

        Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
        Assert.StartsWith("Writing readonly failed after 0 bytes: ", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, splice.Moved);
    }

    [Fact]
    public async Task Urgent_data_that_splice_cannot_pass_hands_the_rest_to_the_buffered_path_instead_of_spinning()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        var before = RandomNumberGenerator.GetBytes(4000);
        await _sender.SendAsync(before, Ct).AsTask().WaitAsync(s_cap, Ct);
        await _sender.SendAsync(new byte[] { 42 }, SocketFlags.OutOfBand, Ct).AsTask().WaitAsync(s_cap, Ct);
        await _sender.SendAsync(new byte[1000], Ct).AsTask().WaitAsync(s_cap, Ct);
        var path = Path.Combine(_directory, "urgent.part");

        var outcome = await MoveIntoAsync(splice, path, 10_000);

        Assert.Equal(SpliceOutcome.Unsupported, outcome);
        Assert.Equal(before.Length, splice.Moved);
        Assert.Equal(before, await File.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task A_full_disk_is_a_local_io_error_naming_the_file()
    {
        using var splice = SocketFileSplice.TryCreate()!;
        await _sender.SendAsync(new byte[10_000], Ct).AsTask().WaitAsync(s_cap, Ct);

        // /dev/full fails every write with ENOSPC, exactly like a full disk. It cannot take a splice (EINVAL), so the
        // bytes go the copy-out way, whose write then fails.
        var failure = await Assert.ThrowsAsync<FileTransferException>(
            () => MoveIntoAsync(splice, "/dev/full", 10_000, p => File.OpenHandle(p, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)));

        Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
        Assert.StartsWith("Writing full failed after 0 bytes", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, splice.Moved);
    }

    [Fact]
    public async Task A_file_side_splice_that_never_returns_fails_the_move_as_local_io_at_the_stall_timeout_and_when_it_returns_at_last_nothing_more_is_touched()
    {
        const int First = 100_000;
        var clock = new ManualTimeProvider(manualTimers: true);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        long landed = -1;

        // Every splice before the offset First reaches the disk; the one at First hangs like a write to a dead disk or NFS
        // server, ignoring everything, until the test lets it go (and then lands its bytes, as such a write may).
        nint Disk(int pipe, int file, long offset, nuint length)
        {
            if (offset < First)
            {
                return SocketFileSplice.SpliceToFile(pipe, file, offset, length);
            }

            entered.TrySetResult();
            release.Wait(s_cap);
            var written = SocketFileSplice.SpliceToFile(pipe, file, offset, length);
            Volatile.Write(ref landed, written);
            return written;
        }

        var splice = SocketFileSplice.TryCreate(TimeSpan.FromSeconds(1), clock, Disk)!;
        var first = RandomNumberGenerator.GetBytes(First);
        var second = RandomNumberGenerator.GetBytes(50_000);
        var after = RandomNumberGenerator.GetBytes(1000);
        var path = Path.Combine(_directory, "hung.part");
        var reports = new ConcurrentQueue<long>();
        var firstMoved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            await _sender.SendAsync(first, Ct).AsTask().WaitAsync(s_cap, Ct);
            var move = splice.MoveAsync(
                _receiver,
                file,
                0,
                1_000_000,
                "hung",
                moved =>
                {
                    reports.Enqueue(moved);
                    if (moved == First)
                    {
                        firstMoved.TrySetResult();
                    }
                },
                Ct,
                Ct);

            // The second piece only once the first is on disk, so the splice that hangs starts exactly at First.
            await firstMoved.Task.WaitAsync(s_cap, Ct);
            await _sender.SendAsync(second, Ct).AsTask().WaitAsync(s_cap, Ct);
            await entered.Task.WaitAsync(s_cap, Ct);

            clock.Advance(TimeSpan.FromMilliseconds(999));
            Assert.False(splice.Stalled);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(splice.Stalled);

            var failure = await Assert.ThrowsAsync<FileTransferException>(() => move.WaitAsync(s_cap, Ct));
            Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
            Assert.Equal($"Writing hung stalled: the disk took no data for 1 s after {First} bytes.", failure.Message);
            Assert.Equal(First, splice.Moved);
            Assert.Equal(First, new FileInfo(path).Length);

            // The peer goes on sending and the owner lets go of the splice, all while the call still hangs.
            await _sender.SendAsync(after, Ct).AsTask().WaitAsync(s_cap, Ct);
            splice.Dispose();
            release.Set();
            await splice.AbandonedMove!.WaitAsync(s_cap, Ct);
        }
        finally
        {
            release.Set();
            splice.Dispose();
        }

        // The stuck call still had its pipe (the owner's dispose did not close it under it) and landed its bytes at their
        // own offset; after it nothing was written, reported or taken from the socket.
        var written = (int)Volatile.Read(ref landed);
        Assert.InRange(written, 1, second.Length);
        byte[] expected = [.. first, .. second.AsSpan(0, written)];
        Assert.Equal(expected, await File.ReadAllBytesAsync(path, Ct));
        Assert.Equal(First, reports.Max());
        byte[] left = [.. second.AsSpan(written), .. after];
        Assert.Equal(left, await ReceiveExactlyAsync(left.Length));
    }

    [Fact]
    public async Task Cancelling_while_a_file_side_splice_hangs_gives_up_on_it_after_the_cancel_grace_as_cancelled_and_nothing_is_written_after_it()
    {
        const int First = 100_000;
        var clock = new ManualTimeProvider(manualTimers: true);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var callsAfterRelease = 0;

        // Every splice before the offset First reaches the disk; the one at First hangs like a write to a dead disk or NFS
        // server until the test lets it go, and then returns without writing: any byte past First would be a later write.
        nint Disk(int pipe, int file, long offset, nuint length)
        {
            if (release.IsSet)
            {
                Interlocked.Increment(ref callsAfterRelease);
            }

            if (offset < First)
            {
                return SocketFileSplice.SpliceToFile(pipe, file, offset, length);
            }

            entered.TrySetResult();
            release.Wait(s_cap);
            return (nint)length;
        }

        // A stall timeout far beyond the test: only the cancel can end the move.
        var splice = SocketFileSplice.TryCreate(TimeSpan.FromMinutes(10), clock, Disk)!;
        var path = Path.Combine(_directory, "cancelled.part");
        var reports = new ConcurrentQueue<long>();
        var firstMoved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            await _sender.SendAsync(RandomNumberGenerator.GetBytes(First), Ct).AsTask().WaitAsync(s_cap, Ct);
            var move = splice.MoveAsync(
                _receiver,
                file,
                0,
                1_000_000,
                "cancelled",
                moved =>
                {
                    reports.Enqueue(moved);
                    if (moved == First)
                    {
                        firstMoved.TrySetResult();
                    }
                },
                cancel.Token,
                cancel.Token);
            await firstMoved.Task.WaitAsync(s_cap, Ct);
            await _sender.SendAsync(RandomNumberGenerator.GetBytes(50_000), Ct).AsTask().WaitAsync(s_cap, Ct);
            await entered.Task.WaitAsync(s_cap, Ct);

            await cancel.CancelAsync();
            clock.Advance(WriteStallWatch.CancelGrace - TimeSpan.FromMilliseconds(1));
            Assert.False(splice.Stalled);
            Assert.False(move.IsCompleted);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            var failure = await Assert.ThrowsAsync<OperationCanceledException>(() => move.WaitAsync(s_cap, Ct));

            Assert.Equal(cancel.Token, failure.CancellationToken);
            Assert.Contains($"Cancelled while writing cancelled hung after {First} bytes", failure.Message, StringComparison.Ordinal);
            Assert.True(splice.Stalled);
            Assert.Equal(First, splice.Moved);
            Assert.Equal(First, new FileInfo(path).Length);

            splice.Dispose();
            release.Set();
            await splice.AbandonedMove!.WaitAsync(s_cap, Ct);
        }
        finally
        {
            release.Set();
            splice.Dispose();
        }

        Assert.Equal(0, Volatile.Read(ref callsAfterRelease));
        Assert.Equal(First, new FileInfo(path).Length);
        Assert.Equal(First, splice.Moved);
        Assert.Equal(First, reports.Max());
    }

    [Fact]
    public async Task Cancelling_a_watched_splice_that_waits_for_the_peer_ends_it_at_once_with_what_arrived_counted_and_no_stall()
    {
        var clock = new ManualTimeProvider(manualTimers: true);
        using var splice = SocketFileSplice.TryCreate(TimeSpan.FromMinutes(10), clock)!;
        var payload = RandomNumberGenerator.GetBytes(5000);
        await _sender.SendAsync(payload, Ct).AsTask().WaitAsync(s_cap, Ct);
        using var cancel = new CancellationTokenSource();
        var path = Path.Combine(_directory, "waiting.part");
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
        {
            // Cancelled once every byte sent is on disk, so the splice is waiting for the peer, not inside a write: the
            // cancel needs no grace (the clock never moves) and is not a stall.
            void CancelOnceAllMoved(long moved)
            {
                if (moved == payload.Length)
                {
                    cancel.Cancel();
                }
            }

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => splice.MoveAsync(
                _receiver, file, 0, 10_000, "waiting", CancelOnceAllMoved, cancel.Token, cancel.Token).WaitAsync(s_cap, Ct));
        }

        Assert.False(splice.Stalled);
        Assert.Null(splice.AbandonedMove);
        Assert.Equal(payload.Length, splice.Moved);
        Assert.Equal(payload, await File.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task A_peer_that_sends_slowly_is_not_taken_for_a_stalled_disk_however_long_the_splice_waits_for_it()
    {
        const int Pieces = 8, Piece = 10_000;
        var clock = new ManualTimeProvider(manualTimers: true);
        using var splice = SocketFileSplice.TryCreate(TimeSpan.FromSeconds(1), clock)!;
        var payload = RandomNumberGenerator.GetBytes(Pieces * Piece);
        var moved = Channel.CreateUnbounded<long>();
        var path = Path.Combine(_directory, "slow.part");
        SpliceOutcome outcome;
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
        {
            var move = splice.MoveAsync(_receiver, file, 0, payload.Length, "slow", m => moved.Writer.TryWrite(m), Ct, Ct);
            for (var i = 0; i < Pieces; i++)
            {
                // Every byte sent so far is reported, so no file-side call is in progress: the splice waits for the peer
                // while ten stall timeouts pass, and the stall check looks forty times.
                clock.Advance(TimeSpan.FromSeconds(10));
                Assert.False(splice.Stalled);
                await _sender.SendAsync(payload.AsMemory(i * Piece, Piece), Ct).AsTask().WaitAsync(s_cap, Ct);
                while (await moved.Reader.ReadAsync(Ct).AsTask().WaitAsync(s_cap, Ct) < (i + 1) * Piece)
                {
                }
            }

            outcome = await move.WaitAsync(s_cap, Ct);
        }

        Assert.Equal(SpliceOutcome.Done, outcome);
        Assert.False(splice.Stalled);
        Assert.Equal(Pieces * 40, clock.Fired);
        Assert.Equal(payload, await File.ReadAllBytesAsync(path, Ct));
    }

    /// <summary>
    /// Moves up to <paramref name="count"/> bytes from the receiving socket into a new file at offset 0 (or into what
    /// <paramref name="open"/> opens), named for errors by <paramref name="path"/>'s name without extension, and closes it.
    /// </summary>
    private async Task<SpliceOutcome> MoveIntoAsync(SocketFileSplice splice, string path, long count, Func<string, SafeFileHandle>? open = null)
    {
        using var file = open?.Invoke(path) ?? File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        return await splice.MoveAsync(_receiver, file, 0, count, Path.GetFileNameWithoutExtension(path), _ => { }, Ct, Ct).WaitAsync(s_cap, Ct);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes that the splice left in the receiving socket.</summary>
    private async Task<byte[]> ReceiveExactlyAsync(int count)
    {
        var bytes = new byte[count];
        for (var got = 0; got < count;)
        {
            var n = await _receiver.ReceiveAsync(bytes.AsMemory(got), Ct).AsTask().WaitAsync(s_cap, Ct);
            Assert.True(n > 0, $"the socket ended after {got} of {count} bytes");
            got += n;
        }

        return bytes;
    }

    private static SafeFileHandle OpenForAppending(string path)
    {
        const int WriteOnly = 0x1, Create = 0x40, Append = 0x400, CloseOnExec = 0x80000;
        var fd = Open(path, WriteOnly | Create | Append | CloseOnExec, 0x180);
        Assert.True(fd >= 0, $"open failed: errno {Marshal.GetLastPInvokeError()}");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    [LibraryImport("libc.so.6", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    /// <summary>Sends in uneven pieces (1 byte to 100 KiB), so the receiver sees every kind of partial read.</summary>
    private Task SendInPiecesAsync(byte[] data) => Task.Run(
        async () =>
        {
            var sizes = new[] { 1, 7, 4096, 65_535, 100_000, 3 };
            for (int sent = 0, i = 0; sent < data.Length; i++)
            {
                var count = Math.Min(sizes[i % sizes.Length], data.Length - sent);
                sent += await _sender.SendAsync(data.AsMemory(sent, count), Ct);
            }
        },
        Ct);
}
