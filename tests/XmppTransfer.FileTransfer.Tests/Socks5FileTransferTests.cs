using System.Security.Cryptography;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.FileTransfer.Storage.Linux;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>Us to us through the loopback router with SOCKS5 bytestreams: direct, and the automatic fallback to IBB.</summary>
public sealed class Socks5FileTransferTests : IAsyncLifetime
{
    /// <summary>FileTransferLog.Splicing: the receive took the zero-copy path.</summary>
    private const int SplicingEvent = 3006;

    /// <summary>FileTransferLog.ReofferRouted and ReofferReadmitted.</summary>
    private const int ReofferRoutedEvent = 3008;
    private const int ReofferReadmittedEvent = 3009;

    /// <summary>
    /// BytestreamsLog.S5bEstablished: the receive has its SOCKS5 bytestream. Before it, an in-band offer of the same file
    /// is the sender's give-up on SOCKS5 and takes over the receive at once.
    /// </summary>
    private const int S5bEstablishedEvent = 2012;
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    /// <summary>For a gated source: the sender's hash pass would read through the gate before offering.</summary>
    private static readonly FileSendOptions s_unhashed = new() { ComputeHashes = false };
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-s5b-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _bobFiles = null!;
    private RecordingLoggerFactory _bobLog = null!;
    private Func<string, long?> _bobFreeSpace = DiskSpace.FreeBytes;

    /// <summary>
    /// Bob's clock (moved only by a test): of his write-stall checks and his inactivity watchdog, whose timeout is past the
    /// write-stall timeout so that stepping a hung disk to its stall never trips it. Also his pipe -> file splice.
    /// </summary>
    private static readonly TimeSpan s_bobInactivity = TimeSpan.FromMinutes(10);

    /// <summary>The hanging-disk receives: the file's size, and where Bob's disk stops taking bytes.</summary>
    private const int HungSize = (3 * 1024 * 1024) + 5;
    private const int HungAt = (1024 * 1024) + 12_345;
    private readonly ManualTimeProvider _bobClock = new(manualTimers: true);
    private FileSpliceCall _bobFileSplice = SocketFileSplice.SpliceToFile;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _bobFiles = new FileTransferManager(new FileTransferOptions
        {
            Socks5 = s_loopback,
            FallbackWait = TimeSpan.FromSeconds(5),
            Socks5InactivityTimeout = s_bobInactivity,
            TimeProvider = _bobClock,
            ProgressInterval = TimeSpan.Zero,
        })
        {
            FreeSpace = directory => _bobFreeSpace(directory),
            FileSplice = (pipe, file, offset, length) => _bobFileSplice(pipe, file, offset, length),
        };
        _alice = await _router.ConnectAsync("alice");
        _bobLog = new RecordingLoggerFactory();
        _bob = await ConnectSeenAsync("bob", _bobFiles, _bobLog);
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65536)]
    [InlineData(5 * 1024 * 1024 + 3)]
    public async Task A_file_arrives_intact_over_a_direct_socks5_bytestream(int size)
    {
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("direct.bin", size);

        var (sent, received) = await TransferAsync(alice, source, new FileSendOptions());

        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
        Assert.Equal("s5b-direct", sent.Method.ToShortName());
        Assert.Equal(size, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), received.Sha256);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.DoesNotContain(_bobLog.Events, e => e.Id.Id == SplicingEvent);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65536)]
    [InlineData(5 * 1024 * 1024 + 3)]
    public async Task An_unhashed_file_arrives_intact_over_a_direct_socks5_bytestream_through_the_zero_copy_receive(int size)
    {
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("unhashed.bin", size);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { ComputeHashes = false });
        var offer = await NextOfferAsync();
        var received = await offer.AcceptAsync(Path.Combine(_root, "in"), new FileReceiveOptions { ComputeSha256 = false }).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Null(offer.File.Sha256);
        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(size, received.BytesTransferred);
        Assert.False(received.Verified);
        Assert.Null(received.Sha256);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.False(File.Exists(received.Path + ".part"));
        Assert.Contains(_bobLog.Events, e => e.Id.Id == SplicingEvent);
    }

    [Fact]
    public async Task A_silent_sender_of_an_unhashed_file_is_stopped_by_the_inactivity_timeout_with_every_spliced_byte_kept()
    {
        var alice = Attach(_alice, s_loopback);
        var size = 3 * 1024 * 1024 + 5;
        var content = RandomNumberGenerator.GetBytes(size);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "in")).FullName;
        const int StallAt = 1024 * 1024 + 12_345;
        using var stopSender = new CancellationTokenSource();
        var send = alice.SendStreamAsync(
            _bob.BoundJid,
            new StallingStream(content, StallAt, hashedFirst: false),
            new Si.FileOfferDescription("silent.bin", size),
            new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Socks5 },
            cancellationToken: stopSender.Token);
        var offer = await NextOfferAsync();
        var progress = new ProgressMark();
        var receive = offer.AcceptAsync(inbox, new FileReceiveOptions { ComputeSha256 = false }, progress);

        // Every byte before the stall is on Bob's disk (the splice reports each block): from here the silence is the sender's.
        await Task.WhenAny(progress.ReachedAsync(StallAt), receive).WaitAsync(s_cap);
        _bobClock.Advance(s_bobInactivity);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_cap));
        await stopSender.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.Timeout, ex.ErrorKind);
        Assert.Contains($"stopped after {StallAt} of {size} bytes", ex.Message, StringComparison.Ordinal);
        var part = Path.Combine(inbox, "silent.bin.part");
        Assert.Equal(content.AsSpan(0, StallAt).ToArray(), await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
        Assert.InRange(await TransferTestKit.AllocatedBytesAsync(part, s_cap), 0, StallAt + 64 * 1024);
        Assert.False(File.Exists(Path.Combine(inbox, "silent.bin")));
        Assert.Contains(_bobLog.Events, e => e.Id.Id == SplicingEvent);
    }

    [Fact]
    public async Task An_unhashed_receive_whose_file_side_splice_never_returns_fails_as_local_io_at_the_write_stall_timeout_and_keeps_its_part_uncut()
    {
        using var disk = new HangingDisk(HungAt);
        using var stopSender = new CancellationTokenSource();
        var send = Task.CompletedTask;
        try
        {
            var (sending, receive, inbox, part, held) = await StartHungReceiveAsync(disk, stopSender.Token, CancellationToken.None);
            send = sending;

            // The check runs inside Advance (the clock's timers fire there): a second short of the timeout it lets the
            // write be, at the timeout it gives up on it.
            _bobClock.Advance(FileTransferOptions.Default.WriteStallTimeout - TimeSpan.FromSeconds(1));
            Assert.False(receive.IsCompleted);
            _bobClock.Advance(TimeSpan.FromSeconds(1));
            var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_cap));

            Assert.Equal(FileTransferErrorKind.LocalIo, ex.ErrorKind);
            Assert.Equal($"Writing hung.bin stalled: the disk took no data for 120 s after {HungAt} bytes.", ex.Message);

            // Its bytes are not read here: the hung write still holds the part open, and with it the lock that keeps any
            // other receive in this process out of it until the write returns.
            Assert.Equal(HungAt, new FileInfo(part).Length);

            // Not cut: a cut would hang on such a disk, and would free the space preallocated beyond the bytes written.
            Assert.Equal(held, await TransferTestKit.AllocatedBytesAsync(part, s_cap));
            Assert.False(File.Exists(Path.Combine(inbox, "hung.bin")));
            Assert.Contains(_bobLog.Events, e => e.Id.Id == SplicingEvent);
        }
        finally
        {
            disk.Release();
            await stopSender.CancelAsync();
        }

        // The sender may have got every byte into the socket buffers before the receive gave up: how its send ends is not
        // the point, only that it does.
        Assert.False(await Record.ExceptionAsync(() => send.WaitAsync(s_cap)) is TimeoutException);
    }

    [Fact]
    public async Task Cancelling_an_unhashed_receive_whose_file_side_splice_hangs_ends_it_as_cancelled_within_the_cancel_grace_and_keeps_its_part_uncut()
    {
        using var disk = new HangingDisk(HungAt);
        using var stopSender = new CancellationTokenSource();
        using var stopReceiver = new CancellationTokenSource();
        var send = Task.CompletedTask;
        try
        {
            var (sending, receive, inbox, part, held) = await StartHungReceiveAsync(disk, stopSender.Token, stopReceiver.Token);
            send = sending;

            // Bob cancels with the write stuck: the grace, not the 120 s stall timeout, is what he waits (the check runs
            // inside Advance).
            await stopReceiver.CancelAsync();
            _bobClock.Advance(WriteStallWatch.CancelGrace - TimeSpan.FromMilliseconds(1));
            Assert.False(receive.IsCompleted);
            _bobClock.Advance(TimeSpan.FromMilliseconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(s_cap));

            Assert.Equal(HungAt, new FileInfo(part).Length);

            // Not cut: a cut would hang on such a disk, and would free the space preallocated beyond the bytes written.
            Assert.Equal(held, await TransferTestKit.AllocatedBytesAsync(part, s_cap));
            Assert.False(File.Exists(Path.Combine(inbox, "hung.bin")));
            Assert.Contains(_bobLog.Events, e => e.Id.Id == SplicingEvent);
        }
        finally
        {
            disk.Release();
            await stopSender.CancelAsync();
        }

        Assert.False(await Record.ExceptionAsync(() => send.WaitAsync(s_cap)) is TimeoutException);
    }

    [Fact]
    public async Task Cancelling_an_unhashed_receive_that_waits_for_the_sender_ends_it_at_once_as_cancelled_with_its_part_cut_to_the_bytes_received()
    {
        var alice = Attach(_alice, s_loopback);
        var size = 3 * 1024 * 1024 + 5;
        const int HoldAt = 1024 * 1024 + 12_345;
        var content = RandomNumberGenerator.GetBytes(size);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "in")).FullName;
        var part = Path.Combine(inbox, "waiting.bin.part");
        var heldBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _bobFileSplice = (pipe, file, offset, length) =>
        {
            var written = SocketFileSplice.SpliceToFile(pipe, file, offset, length);
            if (offset + written == HoldAt)
            {
                heldBack.TrySetResult();
            }

            return written;
        };
        using var stopSender = new CancellationTokenSource();
        using var stopReceiver = new CancellationTokenSource();
        var never = new TaskCompletionSource();
        var send = alice.SendStreamAsync(
            _bob.BoundJid,
            new GatedStream(content, HoldAt, never.Task),
            new Si.FileOfferDescription("waiting.bin", size),
            new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Socks5 },
            cancellationToken: stopSender.Token);
        var offer = await NextOfferAsync();
        try
        {
            var receive = offer.AcceptAsync(inbox, new FileReceiveOptions { ComputeSha256 = false }, cancellationToken: stopReceiver.Token);
            await heldBack.Task.WaitAsync(s_cap);

            // No write in progress: the cancel needs no grace (Bob's clock never moves) and is not a stall.
            await stopReceiver.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(s_cap));

            Assert.Equal(content.AsSpan(0, HoldAt).ToArray(), await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
            Assert.InRange(await TransferTestKit.AllocatedBytesAsync(part, s_cap), 0, HoldAt + 64 * 1024);
            Assert.Contains(_bobLog.Events, e => e.Id.Id == SplicingEvent);
        }
        finally
        {
            await stopSender.CancelAsync();
        }

        Assert.False(await Record.ExceptionAsync(() => send.WaitAsync(s_cap)) is TimeoutException);
    }

    [Fact]
    public async Task Socks5_only_sends_without_offering_ibb()
    {
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("only.bin", 100_000);
        var offered = new List<string>();
        _router.Intercept = stanza =>
        {
            foreach (var value in stanza.Descendants(System.Xml.Linq.XName.Get("value", Namespaces.DataForms)))
            {
                lock (offered)
                {
                    offered.Add(value.Value);
                }
            }

            return stanza;
        };

        var (sent, received) = await TransferAsync(alice, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });

        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.DoesNotContain(Namespaces.Ibb, offered);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task When_every_streamhost_is_unreachable_the_transfer_falls_back_to_ibb_by_itself()
    {
        // A loopback port nobody listens on: the requester offers it, the target's connect is refused at once.
        using var deadPort = new RefusingPort();
        var alice = Attach(_alice, s_loopback with { ExternalHost = null, Hosts = ["127.0.0.1"] });
        var source = MakeFile("fallback.bin", 300_000);
        PointStreamhostsAt(deadPort.Port);

        var (sent, received) = await TransferAsync(alice, source, new FileSendOptions());

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal("ibb", received.Method.ToShortName());
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task Socks5_only_fails_without_fallback_when_no_streamhost_works()
    {
        using var deadPort = new RefusingPort();
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("nofallback.bin", 1000);
        PointStreamhostsAt(deadPort.Port);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await NextOfferAsync();
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.IsType<Bytestreams.BytestreamException>(ex.InnerException);
        await Assert.ThrowsAnyAsync<Exception>(() => receive.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_silent_sender_is_stopped_by_the_inactivity_timeout_with_every_byte_kept_and_the_rest_goes_by_sendfile_from_that_offset()
    {
        var alice = Attach(_alice, s_loopback);
        var size = 3 * 1024 * 1024 + 5;
        var source = MakeFile("resume.bin", size);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "in")).FullName;

        // Carol receives on the system clock with a 3 s inactivity timeout: her hashed receive reports only whole buffers,
        // so no report says when the half-filled one has all its bytes, and a stepped clock could cut it short. The 3 s
        // are the condition under test, bounded by the cap, not a wait for something else.
        var carolFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback, Socks5InactivityTimeout = TimeSpan.FromSeconds(3) });
        await using var carol = await ConnectSeenAsync("carol", carolFiles);

        // First attempt: the sender goes silent partway into the second receive buffer; the receiver gives up after its
        // inactivity timeout and keeps exactly what arrived (the half-filled buffer too).
        const int StallAt = 1024 * 1024 + 12_345;
        var content = new StallingStream(await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken), stallAt: StallAt);
        using var stopSender = new CancellationTokenSource();
        var first = alice.SendStreamAsync(carol.BoundJid, content, new Si.FileOfferDescription("resume.bin", size), cancellationToken: stopSender.Token);
        var offer = await TransferTestKit.NextOfferAsync(carolFiles, s_cap);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Timeout, ex.ErrorKind);
        Assert.Contains("sent nothing for 3 s", ex.Message, StringComparison.Ordinal);
        await stopSender.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(s_cap));
        var partLength = new FileInfo(Path.Combine(inbox, "resume.bin.part")).Length;
        Assert.Equal(StallAt, partLength);
        Assert.InRange(await TransferTestKit.AllocatedBytesAsync(Path.Combine(inbox, "resume.bin.part"), s_cap), 0, partLength + 64 * 1024);

        // Second attempt, from the file: only the rest crosses, from the receiver's offset.
        var (sent, received) = await TransferAsync(alice, carol.BoundJid, carolFiles, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });

        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(partLength, sent.ResumedFrom);
        Assert.Equal(size - partLength, sent.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_part_that_already_holds_the_whole_file_is_verified_and_finalised_with_only_its_last_byte_sent_again_over_socks5(bool md5Only)
    {
        var (source, inbox, send, offer) = await OfferBySocks5Async("whole.bin", md5Only);

        // The earlier receive wrote the last byte and stopped before it renamed the part. Its hash proves it the file; the
        // sender is asked for the last byte only, which it sends from that offset over the direct bytestream.
        var part = TransferTestKit.LeavePart(inbox, offer, await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken));
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        AssertVerifiedOverSocks5From(99_999, sent, received, source, part);
        Assert.Equal(Path.Combine(inbox, "whole.bin"), received.Path);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_part_of_the_whole_length_that_fails_its_hash_is_discarded_and_the_whole_file_received_over_socks5_in_the_same_attempt(bool md5Only)
    {
        var (source, inbox, send, offer) = await OfferBySocks5Async("wrong.bin", md5Only);
        var part = TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(100_000));

        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        AssertVerifiedOverSocks5From(0, sent, received, source, part);
    }

    [Fact]
    public async Task A_receiver_that_stops_reading_is_given_up_after_the_senders_inactivity_timeout()
    {
        var alice = Attach(_alice, s_loopback, inactivity: TimeSpan.FromSeconds(1));
        var source = MakeFile("stuck.bin", 48 * 1024 * 1024);
        using var gate = new ManualResetEventSlim();
        using var stopReceiver = new CancellationTokenSource();

        // The receiver's loop reports progress synchronously: holding the report holds its reads.
        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await NextOfferAsync();
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), progress: new HoldingProgress(gate), cancellationToken: stopReceiver.Token);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        gate.Set();
        await stopReceiver.CancelAsync();

        Assert.Equal(FileTransferErrorKind.Timeout, ex.ErrorKind);
        Assert.Contains("took no data for 1 s", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => receive.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_receiver_that_speaks_xep_0300_is_offered_sha256_without_the_legacy_md5()
    {
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("hashes.bin", 1000);

        var send = alice.SendFileAsync(_bob.BoundJid, source);
        var offer = await NextOfferAsync();
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Null(offer.File.Md5);
        Assert.Equal(Sha256(source), Convert.ToHexStringLower(offer.File.Sha256!));
        Assert.True(received.Verified);
    }

    [Fact]
    public async Task A_part_name_taken_by_another_file_during_a_receive_leaves_that_file_alone_and_saves_the_bytes_received()
    {
        // The receive writes and hashes through the part it opened; another user of the folder renames a file over its name
        // meanwhile. The file saved must be the one received and verified, not whatever the name leads to at the end.
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var alice = Attach(_alice, s_loopback);
        // Held past the first of the receiver's 1 MiB buffers, which is reported once full.
        var content = RandomNumberGenerator.GetBytes(3_000_000);
        var file = new Si.FileOfferDescription("swap.bin", content.Length) { Sha256 = SHA256.HashData(content) };
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var send = alice.SendStreamAsync(_bob.BoundJid, new GatedStream(content, 1_500_000, gate.Task), file, new FileSendOptions { ComputeHashes = false });
        var offer = await NextOfferAsync();
        var inbox = Path.Combine(_root, "swap");
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receive = offer.AcceptAsync(
            inbox, progress: new Progress<FileTransferProgress>(_ => writing.TrySetResult()), cancellationToken: TestContext.Current.CancellationToken);

        // The first report comes with the first bytes, so the part is open by then.
        await writing.Task.WaitAsync(s_cap);
        var other = Path.Combine(inbox, "other");
        await File.WriteAllBytesAsync(other, [9, 9, 9], TestContext.Current.CancellationToken);
        File.Move(other, Path.Combine(inbox, "swap.bin.part"), overwrite: true);
        gate.SetResult();
        var received = await receive.WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.True(received.Verified);
        Assert.Equal(content, await File.ReadAllBytesAsync(received.Path!, TestContext.Current.CancellationToken));
        Assert.Equal([9, 9, 9], await File.ReadAllBytesAsync(Path.Combine(inbox, "swap.bin.part"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_in_band_offer_of_a_file_being_received_over_socks5_is_offered_anew_when_that_receive_succeeds()
    {
        // The receive waits for an IBB re-offer of its file from the start; the same file offered in-band again is taken for
        // one. Once the first receive has succeeded it must not swallow that offer (its sender would wait out its offer
        // timeout): this is what sending one file twice in a row could hit when the second offer overtook the first
        // receive's last steps.
        var alice = Attach(_alice, s_loopback);
        var content = RandomNumberGenerator.GetBytes(300_000);
        var file = new Si.FileOfferDescription("twice.bin", content.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = alice.SendStreamAsync(_bob.BoundJid, new GatedStream(content, 100_000, gate.Task), file, new FileSendOptions { ComputeHashes = false });
        var firstOffer = await NextOfferAsync();
        var firstReceive = firstOffer.AcceptAsync(Path.Combine(_root, "one"), cancellationToken: TestContext.Current.CancellationToken);
        await _bobLog.WaitForAsync(S5bEstablishedEvent).WaitAsync(s_cap);

        var second = alice.SendStreamAsync(
            _bob.BoundJid, new MemoryStream(content), file, new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Ibb });
        await _bobLog.WaitForAsync(ReofferRoutedEvent).WaitAsync(s_cap);
        gate.SetResult();
        var firstReceived = await firstReceive.WaitAsync(s_cap);
        await first.WaitAsync(s_cap);
        var secondOffer = await NextOfferAsync();
        var secondReceived = await secondOffer.AcceptAsync(Path.Combine(_root, "two"), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        var secondSent = await second.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Socks5Direct, firstReceived.Method);
        Assert.Equal(content, await File.ReadAllBytesAsync(firstReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal([Si.StreamMethods.Ibb], secondOffer.Methods);
        Assert.Equal(TransferMethod.Ibb, secondSent.Method);
        Assert.Equal(content, await File.ReadAllBytesAsync(secondReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Contains(_bobLog.Events, e => e.Id.Id == ReofferReadmittedEvent);
    }

    [Fact]
    public async Task A_receive_cancelled_while_it_holds_an_in_band_re_offer_of_its_file_declines_it_and_the_application_is_not_offered_it()
    {
        // The same file offered in-band while it is received over SOCKS5 is held for that receive, in case its SOCKS5 is
        // about to fail (it is never handed to a receive whose bytes flow). The user then cancels the receive: the re-offer
        // is the sender's attempt at the very transfer the user stopped, so it is declined, not offered to the application
        // as a new file.
        var alice = Attach(_alice, s_loopback);
        var content = RandomNumberGenerator.GetBytes(300_000);
        var file = new Si.FileOfferDescription("stopped.bin", content.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stopFirst = new CancellationTokenSource();
        using var stopReceive = new CancellationTokenSource();
        var first = alice.SendStreamAsync(
            _bob.BoundJid,
            new GatedStream(content, 100_000, gate.Task),
            file,
            new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Socks5 },
            cancellationToken: stopFirst.Token);
        var firstOffer = await NextOfferAsync();
        var receive = firstOffer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: stopReceive.Token);
        await _bobLog.WaitForAsync(S5bEstablishedEvent).WaitAsync(s_cap);
        var reoffer = alice.SendStreamAsync(
            _bob.BoundJid, new MemoryStream(content), file, new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Ibb });
        await _bobLog.WaitForAsync(ReofferRoutedEvent).WaitAsync(s_cap);

        await stopReceive.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(s_cap));

        Assert.DoesNotContain(_bobLog.Events, e => e.Id.Id == ReofferReadmittedEvent);
        var declined = await Assert.ThrowsAsync<FileTransferException>(() => reoffer.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
        Assert.Contains("Cancelled by the receiver", declined.Message, StringComparison.Ordinal);
        // The first send stops on our close or its refused streamhost offer (the re-offer can overtake the SOCKS5
        // negotiation), else on its own cancel.
        await stopFirst.CancelAsync();
        var stopped = await Record.ExceptionAsync(() => first.WaitAsync(s_cap));
        Assert.True(stopped is OperationCanceledException or FileTransferException, stopped?.ToString());

        // The next offer the application sees is the next file.
        var next = alice.SendStreamAsync(
            _bob.BoundJid, new MemoryStream(content, 0, 10), new Si.FileOfferDescription("next.bin", 10), new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var nextOffer = await NextOfferAsync();
        Assert.Equal("next.bin", nextOffer.File.Name);
        await nextOffer.DeclineAsync();
        await Assert.ThrowsAsync<FileTransferException>(() => next.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_receive_that_fails_before_accepting_the_in_band_re_offer_it_took_declines_it_and_its_sender_hears_so_at_once()
    {
        // SOCKS5 fails (the streamhost is a closed port), the sender re-offers the file in-band and the receive takes that
        // offer itself; the receive then fails before it answers (here its free-space check, whose second call is the
        // re-offer's, fails). The application never saw the re-offer, so nobody else can answer it.
        using var deadPort = new RefusingPort();
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile("refused.bin", 100_000);
        PointStreamhostsAt(deadPort.Port);
        var checks = 0;
        _bobFreeSpace = _ => Interlocked.Increment(ref checks) == 1 ? null : throw new IOException("The file system did not answer.");

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await NextOfferAsync();
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.LocalIo, ex.ErrorKind);
        Assert.Equal(2, Volatile.Read(ref checks));
        await _bobLog.WaitForAsync(ReofferRoutedEvent).WaitAsync(s_cap);

        // Well before the sender's own wait for an answer would run out.
        var declined = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
        Assert.Contains("Cannot receive the file", declined.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_file_offered_again_with_socks5_while_it_is_received_is_a_new_offer_at_once()
    {
        var alice = Attach(_alice, s_loopback);
        var content = RandomNumberGenerator.GetBytes(300_000);
        var file = new Si.FileOfferDescription("again.bin", content.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = alice.SendStreamAsync(_bob.BoundJid, new GatedStream(content, 100_000, gate.Task), file, new FileSendOptions { ComputeHashes = false });
        var firstOffer = await NextOfferAsync();
        var firstReceive = firstOffer.AcceptAsync(Path.Combine(_root, "one"), cancellationToken: TestContext.Current.CancellationToken);

        var second = alice.SendStreamAsync(_bob.BoundJid, new MemoryStream(content), file, new FileSendOptions { ComputeHashes = false });
        var secondOffer = await NextOfferAsync();
        var secondReceived = await secondOffer.AcceptAsync(Path.Combine(_root, "two"), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        await second.WaitAsync(s_cap);
        Assert.False(firstReceive.IsCompleted);
        gate.SetResult();
        var firstReceived = await firstReceive.WaitAsync(s_cap);
        await first.WaitAsync(s_cap);

        Assert.Contains(Si.StreamMethods.Socks5, secondOffer.Methods);
        Assert.Equal(TransferMethod.Socks5Direct, secondReceived.Method);
        Assert.Equal(content, await File.ReadAllBytesAsync(secondReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal(content, await File.ReadAllBytesAsync(firstReceived.Path!, TestContext.Current.CancellationToken));
        Assert.DoesNotContain(_bobLog.Events, e => e.Id.Id == ReofferRoutedEvent);
    }

    [Fact]
    public async Task Two_files_of_one_name_received_into_one_folder_at_the_same_time_both_arrive_intact()
    {
        // The second receive used to take the first's photo.bin.part for a stale part of another file and delete it from
        // under the first, whose rename then failed; its sender was never answered either.
        var alice = Attach(_alice, s_loopback);
        var inbox = Path.Combine(_root, "in");
        var first = RandomNumberGenerator.GetBytes(300_000);
        var second = RandomNumberGenerator.GetBytes(200_000);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstSend = alice.SendStreamAsync(_bob.BoundJid, new GatedStream(first, 100_000, gate.Task), new Si.FileOfferDescription("photo.bin", first.Length), s_unhashed);
        var firstOffer = await NextOfferAsync();
        var firstReceive = firstOffer.AcceptAsync(inbox, cancellationToken: TestContext.Current.CancellationToken);

        var secondSend = alice.SendStreamAsync(_bob.BoundJid, new MemoryStream(second), new Si.FileOfferDescription("photo.bin", second.Length), s_unhashed);
        var secondOffer = await NextOfferAsync();
        var secondReceived = await secondOffer.AcceptAsync(inbox, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        await secondSend.WaitAsync(s_cap);
        gate.SetResult();
        var firstReceived = await firstReceive.WaitAsync(s_cap);
        await firstSend.WaitAsync(s_cap);

        Assert.Equal(Path.Combine(inbox, "photo.bin"), secondReceived.Path);
        Assert.Equal(second, await File.ReadAllBytesAsync(secondReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal(Path.Combine(inbox, "photo (1).bin"), firstReceived.Path);
        Assert.Equal(first, await File.ReadAllBytesAsync(firstReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal(["photo (1).bin", "photo.bin"], Directory.GetFiles(inbox).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Two_receives_of_one_file_at_the_same_time_do_not_share_the_part_left_by_an_earlier_one()
    {
        // A failed receive left the first 100,000 bytes under an alternate part name. The first of two offers of the file
        // resumes from it; the second, offered while the first still holds that part, must neither resume from nor write
        // into it, and receives the whole file under the primary part name.
        var alice = Attach(_alice, s_loopback);
        var inbox = Path.Combine(_root, "in");
        var content = RandomNumberGenerator.GetBytes(300_000);
        var file = new Si.FileOfferDescription("same.bin", content.Length) { Sha256 = SHA256.HashData(content) };
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstSend = alice.SendStreamAsync(_bob.BoundJid, new GatedStream(content, 200_000, gate.Task), file, s_unhashed);
        var firstOffer = await NextOfferAsync();
        TransferTestKit.LeavePart(inbox, firstOffer, content[..100_000], "same.bin.2");
        var firstReceive = firstOffer.AcceptAsync(inbox, cancellationToken: TestContext.Current.CancellationToken);

        var secondSend = alice.SendStreamAsync(_bob.BoundJid, new MemoryStream(content), file, s_unhashed);
        var secondOffer = await NextOfferAsync();
        var secondReceived = await secondOffer.AcceptAsync(inbox, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        await secondSend.WaitAsync(s_cap);
        gate.SetResult();
        var firstReceived = await firstReceive.WaitAsync(s_cap);
        var firstSent = await firstSend.WaitAsync(s_cap);

        Assert.Equal(100_000, firstSent.ResumedFrom);
        Assert.Equal(100_000, firstReceived.ResumedFrom);
        Assert.Equal(200_000, firstReceived.BytesTransferred);
        Assert.Equal(0, secondReceived.ResumedFrom);
        Assert.Equal(300_000, secondReceived.BytesTransferred);
        Assert.True(firstReceived.Verified);
        Assert.True(secondReceived.Verified);
        Assert.Equal(Path.Combine(inbox, "same.bin"), secondReceived.Path);
        Assert.Equal(Path.Combine(inbox, "same (1).bin"), firstReceived.Path);
        Assert.Equal(content, await File.ReadAllBytesAsync(firstReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal(content, await File.ReadAllBytesAsync(secondReceived.Path!, TestContext.Current.CancellationToken));
        Assert.Equal(["same (1).bin", "same.bin"], Directory.GetFiles(inbox).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    private static FileTransferManager Attach(XmppClient client, Socks5BytestreamOptions options, TimeSpan? inactivity = null)
    {
        var manager = new FileTransferManager(new FileTransferOptions
        {
            Socks5 = options,
            FallbackWait = TimeSpan.FromSeconds(2),
            Socks5InactivityTimeout = inactivity ?? FileTransferOptions.Default.Socks5InactivityTimeout,
        });
        client.AddExtension(manager);
        return manager;
    }

    private Task<(FileTransferResult Sent, FileTransferResult Received)> TransferAsync(FileTransferManager sender, string source, FileSendOptions options) =>
        TransferAsync(sender, _bob.BoundJid, _bobFiles, source, options);

    private async Task<(FileTransferResult Sent, FileTransferResult Received)> TransferAsync(
        FileTransferManager sender, Jid to, FileTransferManager receiver, string source, FileSendOptions options)
    {
        var send = sender.SendFileAsync(to, source, options);
        var offer = await TransferTestKit.NextOfferAsync(receiver, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);
        return (sent, received);
    }

    /// <summary>
    /// Alice sends hung.bin (<see cref="HungSize"/> bytes, unhashed) by SOCKS5 and Bob receives it by splice onto
    /// <paramref name="disk"/>; returns once the file-side splice that hangs has started, exactly at <see cref="HungAt"/>
    /// (the rest is sent only once every byte before it is on disk), with the part's allocated bytes at that moment.
    /// </summary>
    private async Task<(Task Send, Task<FileTransferResult> Receive, string Inbox, string Part, long Held)> StartHungReceiveAsync(
        HangingDisk disk, CancellationToken stopSender, CancellationToken stopReceiver)
    {
        var alice = Attach(_alice, s_loopback);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "in")).FullName;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _bobFileSplice = disk.Splice;
        var send = alice.SendStreamAsync(
            _bob.BoundJid,
            new GatedStream(RandomNumberGenerator.GetBytes(HungSize), HungAt, gate.Task),
            new Si.FileOfferDescription("hung.bin", HungSize),
            new FileSendOptions { ComputeHashes = false, Method = TransferMethodPreference.Socks5 },
            cancellationToken: stopSender);
        var offer = await NextOfferAsync();
        var receive = offer.AcceptAsync(inbox, new FileReceiveOptions { ComputeSha256 = false }, cancellationToken: stopReceiver);
        await disk.HeldBack.WaitAsync(s_cap);
        gate.TrySetResult();
        await disk.Entered.WaitAsync(s_cap);
        var part = Path.Combine(inbox, "hung.bin.part");
        return (send, receive, inbox, part, await TransferTestKit.AllocatedBytesAsync(part, s_cap));
    }

    /// <summary>A receiver with <paramref name="files"/>, connected once Alice has its presence (as a roster contact's would be).</summary>
    private async Task<XmppClient> ConnectSeenAsync(string local, FileTransferManager files, RecordingLoggerFactory? log = null)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _alice.Presence.Available += r =>
        {
            if (r.Jid.Local == local)
            {
                seen.TrySetResult();
            }
        };
        var options = log is null ? _router.ClientOptions(local) : _router.ClientOptions(local) with { LoggerFactory = log };
        var client = await _router.ConnectAsync(local, c => c.AddExtension(files), options);
        await seen.Task.WaitAsync(s_cap);
        return client;
    }

    private Task<IncomingFileOffer> NextOfferAsync() => TransferTestKit.NextOfferAsync(_bobFiles, s_cap);

    /// <summary>
    /// Alice offers a new 100,000-byte file by SOCKS5 only, with a direct loopback streamhost (with only an MD5 when
    /// <paramref name="md5Only"/>); Bob's offer, not yet answered.
    /// </summary>
    private async Task<(string Source, string Inbox, Task<FileTransferResult> Send, IncomingFileOffer Offer)> OfferBySocks5Async(string name, bool md5Only)
    {
        var alice = Attach(_alice, s_loopback);
        var source = MakeFile(name, 100_000);
        if (md5Only)
        {
            TransferTestKit.OfferOnlyMd5(_router, source);
        }

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await NextOfferAsync();
        Assert.Equal(md5Only, offer.File.Sha256 is null);
        Assert.True(offer.File.SupportsRange);
        return (source, Path.Combine(_root, "in"), send, offer);
    }

    /// <summary>
    /// Both sides went by the direct SOCKS5 bytestream, resumed from <paramref name="from"/>, moved the rest of the
    /// 100,000 bytes, verified them, and left no part behind.
    /// </summary>
    private static void AssertVerifiedOverSocks5From(long from, FileTransferResult sent, FileTransferResult received, string source, string part)
    {
        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
        TransferTestKit.AssertVerifiedFrom(from, sent, received, source, part);
    }

    private string MakeFile(string name, int size) => TransferTestKit.MakeFile(_root, name, size);

    /// <summary>Rewrites every offered streamhost's port on its way through the router (e.g. to a closed one).</summary>
    private void PointStreamhostsAt(int port) =>
        _router.Intercept = stanza =>
        {
            foreach (var host in stanza.Descendants(System.Xml.Linq.XName.Get("streamhost", Namespaces.Bytestreams)))
            {
                host.SetAttributeValue("port", port);
            }

            return stanza;
        };

    private static string Sha256(string path) => TransferTestKit.Sha256(path);

    /// <summary>
    /// A seekable source that stops answering at <c>stallAt</c>: on its second pass when the sender hashes it first
    /// (<paramref name="hashedFirst"/>), else on its first.
    /// </summary>
    private sealed class StallingStream(byte[] content, long stallAt, bool hashedFirst = true) : MemoryStream(content, writable: false)
    {
        private int _rewinds;

        public override long Position
        {
            get => base.Position;
            set
            {
                _rewinds++;
                base.Position = value;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var sending = _rewinds > 0 || !hashedFirst;
            if (sending && Position >= stallAt)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var limit = sending ? (int)Math.Min(buffer.Length, Math.Max(0, stallAt - Position)) : buffer.Length;
            return await base.ReadAsync(buffer[..(limit == 0 ? buffer.Length : limit)], cancellationToken);
        }
    }

    /// <summary>Blocks the reporting thread until the gate opens (capped), standing in for a receiver that stops reading.</summary>
    private sealed class HoldingProgress(ManualResetEventSlim gate) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => gate.Wait(s_cap);
    }

    /// <summary>
    /// A file-side splice call for Bob: takes every byte before <c>holdAt</c> (<see cref="HeldBack"/> once they are on disk),
    /// then hangs like a dead disk or NFS server (<see cref="Entered"/>) until <see cref="Release"/> or disposal.
    /// </summary>
    private sealed class HangingDisk(long holdAt) : IDisposable
    {
        private readonly TaskCompletionSource _heldBack = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();

        public Task HeldBack => _heldBack.Task;

        public Task Entered => _entered.Task;

        public nint Splice(int pipe, int file, long offset, nuint length)
        {
            if (offset < holdAt)
            {
                var written = SocketFileSplice.SpliceToFile(pipe, file, offset, length);
                if (offset + written == holdAt)
                {
                    _heldBack.TrySetResult();
                }

                return written;
            }

            _entered.TrySetResult();
            _release.Wait(s_cap);
            return SocketFileSplice.SpliceToFile(pipe, file, offset, length);
        }

        public void Release() => _release.Set();

        public void Dispose()
        {
            // Never leave a call hanging past the test; the event itself is left to the collector, as a call may still be
            // inside Wait on it.
            _release.Set();
        }
    }

    /// <summary>A source that holds every read from <paramref name="holdAt"/> on until <paramref name="gate"/> completes.</summary>
    private sealed class GatedStream(byte[] content, long holdAt, Task gate) : MemoryStream(content, writable: false)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= holdAt)
            {
                await gate.WaitAsync(cancellationToken);
            }

            var limit = Position < holdAt ? (int)Math.Min(buffer.Length, holdAt - Position) : buffer.Length;
            return await base.ReadAsync(buffer[..limit], cancellationToken);
        }
    }
}
