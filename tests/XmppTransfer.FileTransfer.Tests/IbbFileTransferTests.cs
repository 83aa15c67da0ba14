using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

public sealed class IbbFileTransferTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-ft-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _aliceFiles = null!;
    private FileTransferManager _bobFiles = null!;
    private Func<string, long?> _bobFreeSpace = DiskSpace.FreeBytes;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceFiles = new FileTransferManager();
        _bobFiles = new FileTransferManager { FreeSpace = directory => _bobFreeSpace(directory) };
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles));
        var bobSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _alice.Presence.Available += r =>
        {
            if (r.Jid.Local == "bob")
            {
                bobSeen.TrySetResult();
            }
        };
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles));
        await bobSeen.Task.WaitAsync(s_cap);
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
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(3 * 1024 * 1024 + 17)]
    public async Task A_file_arrives_intact_over_ibb(int size)
    {
        var source = MakeFile("data.bin", size);
        var (sent, received) = await TransferAsync(source, new FileSendOptions { Method = TransferMethodPreference.Ibb });

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(size, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), received.Sha256);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.False(File.Exists(received.Path + ".part"));
    }

    [Fact]
    public async Task Stop_and_wait_with_a_window_of_one_still_delivers_everything()
    {
        var source = MakeFile("slow.bin", 100_000);
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Window = 1, BlockSize = 1000 },
        };
        var (_, received) = await TransferAsync(source, options);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task Message_mode_ibb_delivers_the_file()
    {
        var source = MakeFile("msg.bin", 200_000);
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Stanza = Bytestreams.Ibb.IbbStanzaKind.Message },
        };
        var (_, received) = await TransferAsync(source, options);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task Sequence_numbers_wrap_after_65535_blocks()
    {
        // 70,000 blocks of 16 bytes: seq goes 0..65535, then 0 again.
        var source = MakeFile("wrap.bin", 70_000 * 16);
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { BlockSize = 16, Window = 64 },
        };
        var seen = new List<ushort>();
        _router.Intercept = stanza =>
        {
            var data = stanza.Element(XName.Get("data", Namespaces.Ibb));
            if (data is not null)
            {
                lock (seen)
                {
                    seen.Add(ushort.Parse((string)data.Attribute("seq")!, System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            return stanza;
        };
        var (_, received) = await TransferAsync(source, options, TimeSpan.FromSeconds(180));

        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(70_000, seen.Count);
        Assert.Equal(65535, seen[65535]);
        Assert.Equal(0, seen[65536]);
    }

    [Fact]
    public async Task Without_offered_hashes_and_with_hashing_off_nothing_is_hashed_or_claimed_verified()
    {
        var source = MakeFile("plain.bin", 10_000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb, ComputeHashes = false });
        var offer = await NextOfferAsync();
        Assert.Null(offer.File.Sha256);
        Assert.Null(offer.File.Md5);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in"), new FileReceiveOptions { ComputeSha256 = false }).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Null(received.Sha256);
        Assert.False(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task Without_offered_hashes_the_receiver_reports_the_sha256_it_computed_and_spends_nothing_on_md5()
    {
        var source = MakeFile("unhashed.bin", 10_000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb, ComputeHashes = false });
        var offer = await NextOfferAsync();
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Equal(Sha256(source), received.Sha256);
        Assert.Null(received.Md5);
        Assert.False(received.Verified);
    }

    [Fact]
    public async Task A_declined_offer_fails_the_send_with_declined()
    {
        var source = MakeFile("no.bin", 10);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        Assert.Equal("no.bin", offer.File.Name);
        Assert.Equal(10, offer.File.Size);
        await offer.DeclineAsync();

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
    }

    [Fact]
    public async Task A_receiver_that_declines_and_closes_at_once_still_tells_the_sender_before_its_stream_ends()
    {
        // xft receive --decline --count 1 declines and exits at once. The decline went out only when the thread pool ran the
        // offer handler's continuation: a close that did not wait long enough for it left the sender waiting for its offer
        // timeout (120 s). Holding that continuation plays the busy thread pool.
        var carolFiles = new FileTransferManager();
        var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var held = carol.HoldAnswers();
        try
        {
            var send = _aliceFiles.SendFileAsync(carol.BoundJid, MakeFile("bye.bin", 10), new FileSendOptions { Method = TransferMethodPreference.Ibb });
            var offer = await TransferTestKit.NextOfferAsync(carolFiles, s_cap);
            await OfferHandlerHasReturnedAsync(carol);
            await offer.DeclineAsync();
            Assert.Equal(1, held.HeldCount);
            await carol.DisposeAsync().AsTask().WaitAsync(s_cap);

            var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
            Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
        }
        finally
        {
            held.Release();
            await carol.DisposeAsync();
        }
    }

    /// <summary>
    /// The offer reaches the application from inside its handler: once the receiver's read loop has answered a later
    /// request, the handler has returned and the answer waits on its continuation.
    /// </summary>
    private async Task OfferHandlerHasReturnedAsync(XmppClient receiver)
    {
        var probe = Stanza.MakeIq(IqType.Get, receiver.BoundJid, new XElement(XName.Get("nothing", "urn:example:unknown")));
        var unanswerable = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => _alice.SendIqAsync(probe, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap));
        Assert.Equal("service-unavailable", unanswerable.Error.Condition);
    }

    [Fact]
    public async Task An_offer_that_waited_past_the_offer_timeout_fails_to_accept_with_timeout_and_its_sender_hears_a_decline()
    {
        // A receiver that takes offers one at a time meets this one behind a long transfer: accepting it must be a clear
        // transfer failure (xft receive once died of an InvalidOperationException here), not a second answer to the sender.
        var patientFiles = new FileTransferManager(FileTransferOptions.Default with { OfferTimeout = TimeSpan.FromMilliseconds(200) });
        await using var patient = await _router.ConnectAsync("carol", c => c.AddExtension(patientFiles));
        var source = MakeFile("late.bin", 1000);
        var send = _aliceFiles.SendFileAsync(patient.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await TransferTestKit.NextOfferAsync(patientFiles, s_cap);

        var declined = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
        Assert.True(offer.IsExpired);
        var late = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(Path.Combine(_root, "late")).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Timeout, late.ErrorKind);
        Assert.False(Directory.Exists(Path.Combine(_root, "late")));
    }

    [Fact]
    public async Task A_traversal_name_is_saved_as_a_plain_name_inside_the_folder()
    {
        var content = new MemoryStream(RandomNumberGenerator.GetBytes(1000));
        var send = _aliceFiles.SendStreamAsync(
            _bob.BoundJid, content, new Si.FileOfferDescription("../../etc/passwd", 1000), new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        Assert.Equal("passwd", offer.SafeName);
        var outDir = Path.Combine(_root, "in");
        var received = await offer.AcceptAsync(outDir).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Equal(Path.Combine(outDir, "passwd"), received.Path);
        Assert.Single(Directory.GetFiles(outDir));
    }

    [Fact]
    public async Task An_existing_file_is_not_overwritten_unless_asked()
    {
        var outDir = Path.Combine(_root, "in");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "same.txt"), "keep me");
        var source = MakeFile("same.txt", 50);

        var (_, received) = await TransferAsync(source, new FileSendOptions { Method = TransferMethodPreference.Ibb });

        Assert.Equal("same (1).txt", Path.GetFileName(received.Path));
        Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(outDir, "same.txt")));
    }

    [Fact]
    public async Task A_receiver_reports_progress_under_the_name_it_saves_as_and_a_sender_under_the_offered_name()
    {
        var outDir = Path.Combine(_root, "in");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "taken.txt"), "keep me");
        var source = MakeFile("taken.txt", 50_000);
        var sending = new ConcurrentQueue<FileTransferProgress>();
        var receiving = new ConcurrentQueue<FileTransferProgress>();

        var (_, received) = await TransferAsync(
            source, new FileSendOptions { Method = TransferMethodPreference.Ibb }, null, new SyncProgress(sending.Enqueue), new SyncProgress(receiving.Enqueue));

        Assert.Equal("taken (1).txt", received.FileName);
        Assert.NotEmpty(receiving);
        Assert.All(receiving, p => Assert.Equal("taken (1).txt", p.FileName));
        Assert.NotEmpty(sending);
        Assert.All(sending, p => Assert.Equal("taken.txt", p.FileName));
        Assert.All(sending.Concat(receiving), p => Assert.Equal(0, p.ResumedFrom));
    }

    [Fact]
    public async Task A_sender_that_lies_about_the_hash_fails_loudly_and_leaves_no_file()
    {
        var bytes = RandomNumberGenerator.GetBytes(5000);
        var description = new Si.FileOfferDescription("lie.bin", bytes.Length) { Md5 = new string('0', 32) };
        var send = _aliceFiles.SendStreamAsync(_bob.BoundJid, new MemoryStream(bytes), description, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        var outDir = Path.Combine(_root, "in");

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(outDir).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.IntegrityCheckFailed, ex.ErrorKind);
        await send.WaitAsync(s_cap);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    [Fact]
    public async Task A_sender_that_sends_more_than_it_offered_is_stopped()
    {
        // A hostile sender: offers 10,000 bytes by hand, then pushes 20,000 through IBB.
        var offer = new Si.SiOffer("lie1", new Si.FileOfferDescription("big.bin", 10_000), [Si.StreamMethods.Ibb]);
        var answer = _alice.SendIqAsync(Core.Stanzas.Stanza.MakeIq(Core.Stanzas.IqType.Set, _bob.BoundJid, offer.ToXml()));
        var incoming = await NextOfferAsync();
        var outDir = Path.Combine(_root, "in");
        var receiving = incoming.AcceptAsync(outDir);
        await answer.WaitAsync(s_cap);
        var ibb = _alice.GetExtension<Bytestreams.Ibb.InBandBytestreamManager>()!;
        await using var stream = await ibb.OpenAsync(_bob.BoundJid, "lie1").WaitAsync(s_cap);
        var pushing = Task.Run(async () =>
        {
            await stream.WriteAsync(RandomNumberGenerator.GetBytes(20_000));
            await stream.CompleteAsync();
        });

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receiving.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.IntegrityCheckFailed, ex.ErrorKind);
        Assert.False(File.Exists(Path.Combine(outDir, "big.bin")));
        await Assert.ThrowsAsync<Bytestreams.BytestreamException>(() => pushing.WaitAsync(s_cap));
    }

    [Fact]
    public async Task Offers_over_the_size_limit_are_declined_before_the_application_sees_them_and_reported_as_declined()
    {
        var carolFiles = new FileTransferManager(new FileTransferOptions { MaxFileSize = 100 });
        var declined = new List<DeclinedOffer>();
        carolFiles.OfferDeclined += d => declined.Add(d);
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("large.bin", 101);
        var ex = await Assert.ThrowsAsync<FileTransferException>(
            () => _aliceFiles.SendFileAsync(carol.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb }).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);

        // Raised before the decline is sent, so it is in by the time the sender has the answer.
        var report = Assert.Single(declined);
        Assert.Equal(OfferDeclineReason.TooLarge, report.Reason);
        Assert.Equal(_alice.BoundJid, report.From);
        Assert.Equal("large.bin", report.SafeName);
        Assert.Equal(101, report.File.Size);
    }

    [Fact]
    public async Task Offers_from_senders_not_on_the_accept_list_are_declined_and_reported_even_when_a_handler_throws()
    {
        var carolFiles = new FileTransferManager(new FileTransferOptions { AcceptFrom = [Jid.Parse("bob@example.test")] });
        var declined = new List<DeclinedOffer>();
        carolFiles.OfferDeclined += _ => throw new InvalidOperationException("a broken handler");
        carolFiles.OfferDeclined += d => declined.Add(d);
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("x.bin", 10);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => _aliceFiles.SendFileAsync(carol.BoundJid, source).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
        var report = Assert.Single(declined);
        Assert.Equal(OfferDeclineReason.SenderNotAccepted, report.Reason);
        Assert.Equal(_alice.BoundJid, report.From);
    }

    [Fact]
    public async Task A_bare_jid_resolves_to_the_available_resource_that_supports_si()
    {
        var source = MakeFile("bare.bin", 1234);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid.Bare, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);
        Assert.Equal(_bob.BoundJid, sent.Peer);
        Assert.Equal(Sha256(source), received.Sha256);
    }

    [Fact]
    public async Task A_bare_jid_with_nobody_online_gets_an_error_suggesting_the_full_jid()
    {
        var source = MakeFile("x.bin", 1);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => _aliceFiles.SendFileAsync(Jid.Parse("nobody@example.test"), source).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.PeerUnavailable, ex.ErrorKind);
        Assert.Contains("full JID", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_without_si_support_is_reported_as_not_supported()
    {
        await using var plain = await _router.ConnectAsync("dave");
        var source = MakeFile("x.bin", 1);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => _aliceFiles.SendFileAsync(plain.BoundJid, source).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.NotSupported, ex.ErrorKind);
    }

    [Fact]
    public async Task A_sender_that_goes_offline_after_the_last_block_but_before_its_close_still_delivers_a_verified_file()
    {
        var carolFiles = new FileTransferManager();
        var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("lastblock.bin", 300_000);
        var closeSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(XName.Get("close", Namespaces.Ibb)) is not null)
            {
                // The close never arrives: carol's connection dies right after her last data block.
                closeSent.TrySetResult();
                return null;
            }

            return stanza;
        };

        var send = carolFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        var receiving = offer.AcceptAsync(Path.Combine(_root, "in"));
        await closeSent.Task.WaitAsync(s_cap);
        await carol.DisposeAsync();

        var received = await receiving.WaitAsync(s_cap);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_receiver_that_goes_offline_mid_ibb_fails_the_send_at_once_not_after_the_block_timeout()
    {
        var carolFiles = new FileTransferManager();
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("gone.bin", 32 * 1024 * 1024);
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Window = 2, BlockTimeout = TimeSpan.FromMinutes(10) },
        };
        var progressSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var send = _aliceFiles.SendFileAsync(carol.BoundJid, source, options, new SyncProgress(p =>
        {
            if (p.BytesTransferred > 64 * 1024)
            {
                progressSeen.TrySetResult();
            }
        }));
        var offer = await TransferTestKit.NextOfferAsync(carolFiles, s_cap);
        var receiving = offer.AcceptAsync(Path.Combine(_root, "carol"));
        await progressSeen.Task.WaitAsync(s_cap);

        // The receiver's connection drops (its process killed): the blocks it held are never answered, and the router tells
        // everyone it is unavailable. The block timeout is 10 min, the cap 60 s.
        await _router.DisconnectAsync(carol.BoundJid);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Contains("went offline", ex.Message, StringComparison.Ordinal);

        // Carol's own side has lost its server, which ends her in-band receive by itself (not after its inactivity timeout),
        // with the part kept for resuming.
        var lost = await Assert.ThrowsAsync<FileTransferException>(() => receiving.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, lost.ErrorKind);
        Assert.Contains("Our XMPP session ended", lost.Message, StringComparison.Ordinal);
        Assert.Contains("the part is kept for resuming", lost.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_that_goes_offline_mid_ibb_ends_the_receive_at_once_with_the_part_kept()
    {
        var carolFiles = new FileTransferManager();
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("vanished.bin", 32 * 1024 * 1024);
        var options = new FileSendOptions { Method = TransferMethodPreference.Ibb, Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Window = 2 } };
        var send = carolFiles.SendFileAsync(_bob.BoundJid, source, options);
        var offer = await NextOfferAsync();
        var progressSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inbox = Path.Combine(_root, "in");
        var receiving = offer.AcceptAsync(inbox, progress: new SyncProgress(p =>
        {
            if (p.BytesTransferred > 64 * 1024)
            {
                progressSeen.TrySetResult();
            }
        }));
        await progressSeen.Task.WaitAsync(s_cap);

        // The sender's connection drops without a close; bob's inactivity timeout is 120 s, the cap 60 s.
        await _router.DisconnectAsync(carol.BoundJid);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receiving.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Contains("went offline", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the part is kept for resuming", ex.Message, StringComparison.Ordinal);
        Assert.InRange(new FileInfo(Path.Combine(inbox, "vanished.bin.part")).Length, 1, 32 * 1024 * 1024 - 1);
        Assert.False(File.Exists(Path.Combine(inbox, "vanished.bin")));
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_cut_transfer_resumes_from_the_partial_and_sends_only_the_rest()
    {
        var size = 2 * 1024 * 1024;
        var source = MakeFile("resume.bin", size);
        var outDir = Path.Combine(_root, "in");

        // First attempt: the receiver drops after roughly a third of the blocks have passed.
        var blocks = 0;
        var cutAt = Random.Shared.Next(100, 300);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(XName.Get("data", Namespaces.Ibb)) is not null && Interlocked.Increment(ref blocks) > cutAt)
            {
                return null;
            }

            return stanza;
        };
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { BlockTimeout = TimeSpan.FromSeconds(1) },
        };
        var first = _aliceFiles.SendFileAsync(_bob.BoundJid, source, options);
        var offer = await NextOfferAsync();
        var receiving = offer.AcceptAsync(outDir);
        await Assert.ThrowsAsync<FileTransferException>(() => first.WaitAsync(s_cap));
        await Assert.ThrowsAnyAsync<Exception>(() => receiving.WaitAsync(s_cap));
        var partLength = new FileInfo(Path.Combine(outDir, "resume.bin.part")).Length;
        Assert.InRange(partLength, 1, size - 1);

        // Second attempt: same file, same sender: the receiver asks for the rest only, and both sides' reports say where it started.
        _router.Intercept = null;
        var sending = new ConcurrentQueue<FileTransferProgress>();
        var receivingReports = new ConcurrentQueue<FileTransferProgress>();
        var (sent, received) = await TransferAsync(
            source, new FileSendOptions { Method = TransferMethodPreference.Ibb }, null, new SyncProgress(sending.Enqueue), new SyncProgress(receivingReports.Enqueue));
        Assert.Equal(partLength, sent.ResumedFrom);
        Assert.Equal(size - partLength, sent.BytesTransferred);
        Assert.NotEmpty(sending);
        Assert.NotEmpty(receivingReports);
        Assert.All(sending.Concat(receivingReports), p => Assert.Equal(partLength, p.ResumedFrom));
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.False(File.Exists(Path.Combine(outDir, "resume.bin.part")));
    }

    [Fact]
    public async Task A_receive_cut_under_an_alternate_part_name_is_resumed_by_the_next_offer_of_the_file()
    {
        var size = 2 * 1024 * 1024;
        var source = MakeFile("alt.bin", size);
        var inbox = Path.Combine(_root, "in");
        Directory.CreateDirectory(inbox);

        // First attempt, while another receive of an alt.bin holds the primary part name (this lease stands in for it): it
        // writes alt.bin.2.part, and the receiver drops after some of the blocks have passed.
        var blocks = 0;
        var cutAt = Random.Shared.Next(100, 300);
        _router.Intercept = stanza =>
            stanza.Element(XName.Get("data", Namespaces.Ibb)) is not null && Interlocked.Increment(ref blocks) > cutAt ? null : stanza;
        var options = new FileSendOptions
        {
            Method = TransferMethodPreference.Ibb,
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { BlockTimeout = TimeSpan.FromSeconds(1) },
        };
        using (PartNames.Take(inbox, "alt.bin"))
        {
            var first = _aliceFiles.SendFileAsync(_bob.BoundJid, source, options);
            var receiving = (await NextOfferAsync()).AcceptAsync(inbox);
            await Assert.ThrowsAsync<FileTransferException>(() => first.WaitAsync(s_cap));
            await Assert.ThrowsAnyAsync<Exception>(() => receiving.WaitAsync(s_cap));
        }

        Assert.Equal(["alt.bin.2.part", "alt.bin.2.part.json"], TransferTestKit.Parts(inbox));
        var partLength = new FileInfo(Path.Combine(inbox, "alt.bin.2.part")).Length;
        Assert.InRange(partLength, 1, size - 1);

        // Second attempt: the primary name is free again, and the next offer of the file still asks for the rest only.
        _router.Intercept = null;
        var (sent, received) = await TransferAsync(source, new FileSendOptions { Method = TransferMethodPreference.Ibb });

        Assert.Equal(partLength, sent.ResumedFrom);
        Assert.Equal(partLength, received.ResumedFrom);
        Assert.Equal(size - partLength, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), received.Sha256);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(Path.Combine(inbox, "alt.bin"), received.Path);
        Assert.Empty(TransferTestKit.Parts(inbox));
    }

    [Fact]
    public async Task Alternate_parts_of_another_size_or_sender_are_not_resumed_from_and_are_left_as_they_were()
    {
        var (source, inbox, send, offer) = await OfferByIbbAsync("others.bin");
        var bytes = await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken);
        var larger = TransferTestKit.LeavePart(inbox, offer, bytes[..40_000], "others.bin.2", p => p with { Size = p.Size + 1 });
        var carols = TransferTestKit.LeavePart(inbox, offer, bytes[..60_000], "others.bin.3", p => p with { Sender = "carol@localhost" });
        var before = new[] { larger, carols }.Select(Snapshot).ToArray();

        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(0, sent.ResumedFrom);
        Assert.Equal(0, received.ResumedFrom);
        Assert.Equal(100_000, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(Path.Combine(inbox, "others.bin"), received.Path);
        Assert.Equal(["others.bin.2.part", "others.bin.2.part.json", "others.bin.3.part", "others.bin.3.part.json"], TransferTestKit.Parts(inbox));
        Assert.Equal(before, new[] { larger, carols }.Select(Snapshot));

        static string Snapshot(string part) => Sha256(part) + " " + File.ReadAllText(part + ".json");
    }

    [Fact]
    public async Task A_part_longer_than_the_offered_size_is_not_resumed_from_and_the_file_is_received_again_from_the_start()
    {
        var (source, inbox, send, offer) = await OfferByIbbAsync("long.bin");
        Assert.True(offer.File.SupportsRange);

        // Even its first 100,000 bytes being right does not make a longer part a prefix of the file.
        var bytes = await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken);
        var part = TransferTestKit.LeavePart(inbox, offer, [.. bytes, .. RandomNumberGenerator.GetBytes(1000)]);
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        TransferTestKit.AssertVerifiedFrom(0, sent, received, source, part);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_part_that_already_holds_the_whole_file_is_verified_and_finalised_with_only_its_last_byte_sent_again(bool md5Only)
    {
        var (source, inbox, send, offer) = await OfferByIbbAsync("whole.bin", md5Only);

        // The earlier receive wrote the last byte and stopped before it renamed the part. Its hash proves it the file; the
        // sender is asked for the last byte only (a range from the size would ask it for an empty stream).
        var part = TransferTestKit.LeavePart(inbox, offer, await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken));
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        TransferTestKit.AssertVerifiedFrom(99_999, sent, received, source, part);
        Assert.Equal(Path.Combine(inbox, "whole.bin"), received.Path);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_part_of_the_whole_length_that_fails_its_hash_is_discarded_and_the_whole_file_received_in_the_same_attempt(bool md5Only)
    {
        var (source, inbox, send, offer) = await OfferByIbbAsync("wrong.bin", md5Only);
        var part = TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(100_000));

        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        TransferTestKit.AssertVerifiedFrom(0, sent, received, source, part);
    }

    [Fact]
    public async Task A_folder_that_cannot_be_made_declines_the_accepted_offer_and_the_sender_hears_so_at_once()
    {
        var (_, _, send, offer) = await OfferByIbbAsync("nowhere.bin");
        var file = MakeFile("in-the-way", 1);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(Path.Combine(file, "in")).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.LocalIo, ex.ErrorKind);

        // Well before the sender's own wait for an answer would run out.
        var declined = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
    }

    [Fact]
    public async Task A_disk_error_while_receiving_surfaces_as_a_local_io_failure()
    {
        var (_, inbox, send, offer) = await OfferByIbbAsync("blocked.bin");

        // The folder exists and the part opens; the part's metadata, written once the bytestream is open, finds a folder in
        // its place.
        Directory.CreateDirectory(Path.Combine(inbox, "blocked.bin.part.json"));
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.LocalIo, ex.ErrorKind);
        Assert.True(ex.InnerException is IOException or UnauthorizedAccessException, ex.InnerException?.ToString());
        Assert.Contains($"Receiving blocked.bin into {inbox} failed", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(inbox, "blocked.bin")));

        // Accepted already: the sender learns of it from our close of the bytestream (CancelledByPeer), unless every block
        // and its own close were through before it.
        await Record.ExceptionAsync(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_disk_that_holds_the_file_only_in_place_of_the_part_it_overwrites_accepts_it()
    {
        var (source, inbox, send, offer) = await OfferByIbbAsync("tight.bin");
        var part = TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(101_000));

        // Free space short of the file by exactly the blocks the over-long part holds: they are freed when it is overwritten.
        var held = await TransferTestKit.AllocatedBytesAsync(part, s_cap);
        _bobFreeSpace = _ => 100_000 - held;
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        TransferTestKit.AssertVerifiedFrom(0, sent, received, source, part);
    }

    [Fact]
    public async Task A_disk_one_byte_short_of_the_file_even_in_place_of_the_part_refuses_it_and_keeps_the_part()
    {
        var (_, inbox, send, offer) = await OfferByIbbAsync("short.bin");
        var bytes = RandomNumberGenerator.GetBytes(101_000);
        var part = TransferTestKit.LeavePart(inbox, offer, bytes);

        var held = await TransferTestKit.AllocatedBytesAsync(part, s_cap);
        _bobFreeSpace = _ => 100_000 - held - 1;
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Refused, ex.ErrorKind);
        Assert.Equal($"Not enough free space in {inbox} for 100000 bytes.", ex.Message);
        var declined = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
        Assert.True(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_sender_that_sends_more_than_it_offered_is_stopped_and_none_of_its_data_is_kept()
    {
        var source = MakeFile("over.bin", 100_000);
        var inbox = Path.Combine(_root, "in");

        // The offer says 90,000 bytes; the stream carries the file's 100,000.
        _router.Intercept = stanza =>
        {
            stanza.Element(XName.Get("si", Namespaces.Si))?.Element(XName.Get("file", Namespaces.SiFileTransfer))?.SetAttributeValue("size", 90_000);
            return stanza;
        };
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        Assert.Equal(90_000, offer.File.Size);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.IntegrityCheckFailed, ex.ErrorKind);
        Assert.Contains("sent more than the 90000 bytes it offered", ex.Message, StringComparison.Ordinal);
        await Record.ExceptionAsync(() => send.WaitAsync(s_cap));
        Assert.Empty(Directory.GetFiles(inbox));
    }

    [Fact]
    public async Task Cancelling_the_send_tells_the_receiver_and_keeps_the_partial()
    {
        var source = MakeFile("cancel.bin", 8 * 1024 * 1024);
        using var cts = new CancellationTokenSource();
        var progressSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new FileSendOptions { Method = TransferMethodPreference.Ibb, Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Window = 2 } };
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, options, new SyncProgress(p =>
        {
            if (p.BytesTransferred > 64 * 1024)
            {
                progressSeen.TrySetResult();
            }
        }), cts.Token);
        var offer = await NextOfferAsync();
        var receiving = offer.AcceptAsync(Path.Combine(_root, "in"));
        await progressSeen.Task.WaitAsync(s_cap);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receiving.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.True(File.Exists(Path.Combine(_root, "in", "cancel.bin.part")));
        Assert.False(File.Exists(Path.Combine(_root, "in", "cancel.bin")));
    }

    [Fact]
    public async Task Cancelling_the_receive_stops_the_sender()
    {
        var source = MakeFile("stop.bin", 32 * 1024 * 1024); // large enough to outlast the 200 ms progress throttle
        var options = new FileSendOptions { Method = TransferMethodPreference.Ibb, Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { Window = 2 } };
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, options);
        var offer = await NextOfferAsync();
        using var cts = new CancellationTokenSource();
        var progressSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiving = offer.AcceptAsync(Path.Combine(_root, "in"), progress: new SyncProgress(p =>
        {
            if (p.BytesTransferred > 64 * 1024)
            {
                progressSeen.TrySetResult();
            }
        }), cancellationToken: cts.Token);
        await progressSeen.Task.WaitAsync(s_cap);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(s_cap));
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Contains(ex.ErrorKind, new[] { FileTransferErrorKind.CancelledByPeer, FileTransferErrorKind.TransferFailed });
    }

    private async Task<(FileTransferResult Sent, FileTransferResult Received)> TransferAsync(
        string source,
        FileSendOptions options,
        TimeSpan? cap = null,
        IProgress<FileTransferProgress>? sending = null,
        IProgress<FileTransferProgress>? receiving = null)
    {
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, options, sending);
        var offer = await NextOfferAsync();
        var received = await offer.AcceptAsync(Path.Combine(_root, "in"), progress: receiving).WaitAsync(cap ?? s_cap);
        var sent = await send.WaitAsync(cap ?? s_cap);
        return (sent, received);
    }

    private Task<IncomingFileOffer> NextOfferAsync() => TransferTestKit.NextOfferAsync(_bobFiles, s_cap);

    /// <summary>Alice offers a new 100,000-byte file by IBB (with only an MD5 when <paramref name="md5Only"/>); Bob's offer, not yet answered.</summary>
    private async Task<(string Source, string Inbox, Task<FileTransferResult> Send, IncomingFileOffer Offer)> OfferByIbbAsync(string name, bool md5Only = false)
    {
        var source = MakeFile(name, 100_000);
        if (md5Only)
        {
            TransferTestKit.OfferOnlyMd5(_router, source);
        }

        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync();
        Assert.Equal(md5Only, offer.File.Sha256 is null);
        return (source, Path.Combine(_root, "in"), send, offer);
    }

    private string MakeFile(string name, int size) => TransferTestKit.MakeFile(_root, name, size);

    private static string Sha256(string path) => TransferTestKit.Sha256(path);

    /// <summary>Progress delivered on the reporting thread (Progress&lt;T&gt; would post to the pool).</summary>
    private sealed class SyncProgress(Action<FileTransferProgress> report) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => report(value);
    }
}
