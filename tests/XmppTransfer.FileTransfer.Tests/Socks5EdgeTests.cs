using System.Net;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Proxy;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// SOCKS5 edges through the loopback router and an in-process proxy: empty files over every method, and a sender that
/// gives up on SOCKS5 before it sends any streamhost (with and without its in-band re-offer).
/// </summary>
public sealed class Socks5EdgeTests : IAsyncLifetime
{
    /// <summary>FileTransferLog.Socks5WaitAbandoned: the receive gave up its SOCKS5 wait for the sender's re-offer.</summary>
    private const int Socks5WaitAbandonedEvent = 3013;

    /// <summary>FileTransferLog.ReofferRouted: an in-band offer went to a receive waiting for a re-offer of its file.</summary>
    private const int ReofferRoutedEvent = 3008;

    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    /// <summary>Well under the receiver's SOCKS5 negotiation timeout and fallback wait (10 min), so only a prompt end passes.</summary>
    private static readonly TimeSpan s_prompt = TimeSpan.FromSeconds(20);

    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private static readonly Jid s_nowhere = Jid.Parse("proxy.nowhere.example");
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-s5b-edge-").FullName;
    private LoopbackRouter _router = null!;
    private Socks5Proxy _proxy = null!;
    private XmppClient _proxyService = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _bobFiles = null!;
    private RecordingLoggerFactory _bobLog = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _proxy = new Socks5Proxy(Socks5ProxyOptions.Default with { ListenEndpoints = [new IPEndPoint(IPAddress.Loopback, 0)] });
        await _proxy.StartAsync(TestContext.Current.CancellationToken);
        _proxyService = await _router.ConnectAsync("proxy", c => c.AddExtension(new BytestreamProxyExtension(_proxy)));

        // Timeouts far beyond every cap here: a test passes only if nothing waits them out.
        _bobFiles = new FileTransferManager(new FileTransferOptions
        {
            Socks5 = s_loopback with { NegotiationTimeout = TimeSpan.FromMinutes(10) },
            FallbackWait = TimeSpan.FromMinutes(10),
            Socks5InactivityTimeout = TimeSpan.FromMinutes(10),
        });
        _bobLog = new RecordingLoggerFactory();
        _alice = await _router.ConnectAsync("alice");
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles), _router.ClientOptions("bob") with { LoggerFactory = _bobLog });
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _proxyService.DisposeAsync();
        await _router.DisposeAsync();
        await _proxy.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(0, TransferMethodPreference.Socks5)]
    [InlineData(0, TransferMethodPreference.Auto)]
    [InlineData(1, TransferMethodPreference.Socks5)]
    [InlineData(100_000, TransferMethodPreference.Auto)]
    public async Task A_file_sent_through_a_proxy_arrives_once_and_both_sides_report_success_even_when_it_is_empty(int size, TransferMethodPreference method)
    {
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [_proxyService.BoundJid] });
        var source = TransferTestKit.MakeFile(_root, "mediated.bin", size);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = method });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        // Over the proxy on both sides: a sender that had failed the activation would have fallen back to IBB (auto) or thrown.
        Assert.Equal(TransferMethod.Socks5Proxy, sent.Method);
        Assert.Equal(TransferMethod.Socks5Proxy, received.Method);
        Assert.Equal(size, received.BytesTransferred);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        Assert.Equal(["mediated.bin"], Directory.GetFiles(Path.Combine(_root, "in")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(TransferMethodPreference.Socks5)]
    [InlineData(TransferMethodPreference.Ibb)]
    public async Task An_empty_file_arrives_once_over_direct_socks5_and_over_ibb(TransferMethodPreference method)
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "empty.txt", 0);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = method });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        var expected = method == TransferMethodPreference.Ibb ? TransferMethod.Ibb : TransferMethod.Socks5Direct;
        Assert.Equal(expected, sent.Method);
        Assert.Equal(expected, received.Method);
        Assert.Equal(0, new FileInfo(received.Path!).Length);
        Assert.Equal(["empty.txt"], Directory.GetFiles(Path.Combine(_root, "in")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task An_in_band_re_offer_takes_over_at_once_from_a_receive_still_waiting_for_the_socks5_bytestream_its_sender_gave_up_on()
    {
        // The sender has no streamhost (a proxy that does not exist, no direct candidates) and falls back to IBB. Its
        // streamhost-less notice is turned into an offer for another sid here, as from a sender that does not send one,
        // so the receive learns of the give-up only from the re-offer.
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [s_nowhere] });
        var source = TransferTestKit.MakeFile(_root, "fallback.bin", 50_000);
        _router.Intercept = stanza =>
        {
            var query = stanza.Element(s_query);
            if (query is not null && (string?)stanza.Attribute("type") == "set" && !query.HasElements)
            {
                query.SetAttributeValue("sid", "not-the-transfer");
            }

            return stanza;
        };

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        Assert.Contains(Si.StreamMethods.Socks5, offer.Methods);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_prompt);
        var sent = await send.WaitAsync(s_prompt);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        Assert.Contains(_bobLog.Events, e => e.Id.Id == Socks5WaitAbandonedEvent);
    }

    [Fact]
    public async Task An_in_band_offer_of_the_same_file_from_another_resource_of_the_sender_does_not_take_over_the_waiting_receive()
    {
        // The laptop sends over SOCKS5; its streamhost offer is held until the phone (same account, another resource)
        // has offered the same file in band and that offer went to the waiting receive (event 3008). The phone is not the
        // sender of this transfer: the receive must go on over the laptop's SOCKS5, not switch to the phone's bytes.
        var laptop = Attach(_alice, s_loopback);
        var phoneFiles = new FileTransferManager(new FileTransferOptions());
        await using var phone = await _router.ConnectAsync("alice", c => c.AddExtension(phoneFiles), _router.ClientOptions("alice", "phone"));
        var source = TransferTestKit.MakeFile(_root, "same.bin", 50_000);
        var routedToReceive = _bobLog.WaitForAsync(ReofferRoutedEvent);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(s_query) is { HasElements: true } && (string?)stanza.Attribute("type") == "set" && (string?)stanza.Attribute("from") == _alice.BoundJid.ToString())
            {
                // Blocks only the laptop's connection in the router, until the phone's offer has reached the receive.
                routedToReceive.Wait(s_cap, TestContext.Current.CancellationToken);
            }

            return stanza;
        };

        var send = laptop.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        using var stopPhone = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var phoneSend = phoneFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb }, cancellationToken: stopPhone.Token);

        var received = await receive.WaitAsync(s_prompt);
        var sent = await send.WaitAsync(s_prompt);

        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        Assert.DoesNotContain(_bobLog.Events, e => e.Id.Id == Socks5WaitAbandonedEvent);
        await stopPhone.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => phoneSend.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_sender_without_a_streamhost_that_falls_back_tells_the_receiver_which_takes_the_in_band_re_offer_at_once()
    {
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [s_nowhere] });
        var source = TransferTestKit.MakeFile(_root, "notice.bin", 50_000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_prompt);
        var sent = await send.WaitAsync(s_prompt);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
    }

    [Fact]
    public async Task A_socks5_only_sender_without_a_streamhost_tells_the_receiver_whose_receive_fails_at_once()
    {
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [s_nowhere] });
        var source = TransferTestKit.MakeFile(_root, "s5b-only.bin", 50_000);
        var noticed = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(s_query) is { } query && (string?)stanza.Attribute("type") == "set")
            {
                noticed.TrySetResult(query);
            }

            return stanza;
        };

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));

        var sendFailure = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_prompt));
        var receiveFailure = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        var notice = await noticed.Task.WaitAsync(s_cap);

        Assert.Equal(FileTransferErrorKind.TransferFailed, sendFailure.ErrorKind);
        Assert.Equal(FileTransferErrorKind.TransferFailed, receiveFailure.ErrorKind);
        Assert.Empty(notice.Elements());
        Assert.Equal(offer.Sid, (string?)notice.Attribute("sid"));
    }

    [Fact]
    public async Task A_sender_that_goes_offline_mid_socks5_ends_the_receive_at_once_with_the_part_kept_not_after_the_fallback_wait()
    {
        // Through the proxy, as when a sender's process is killed: its bytestream goes (the proxy closes our leg) and so
        // does its connection (the router tells everyone it is unavailable). No in-band re-offer can come.
        var carolFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback with { DirectCandidates = false, Proxies = [_proxyService.BoundJid] } });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        const int Size = 4 * 1024 * 1024;
        const int StopAt = 100_000;
        var content = new StoppingStream(new byte[Size], StopAt);
        using var killCarol = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var send = carolFiles.SendStreamAsync(
            _bob.BoundJid, content, new Si.FileOfferDescription("killed.bin", Size), new FileSendOptions { ComputeHashes = false }, cancellationToken: killCarol.Token);
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        Assert.Contains(Si.StreamMethods.Ibb, offer.Methods);
        var inbox = Path.Combine(_root, "in");
        var receive = offer.AcceptAsync(inbox);
        await content.Stopped.WaitAsync(s_cap);

        await killCarol.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));
        await _router.DisconnectAsync(carol.BoundJid);

        // The fallback wait and every SOCKS5 timeout of the receiver are 10 min.
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Contains(carol.BoundJid + " went offline", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the part is kept for resuming", ex.Message, StringComparison.Ordinal);
        Assert.InRange(new FileInfo(Path.Combine(inbox, "killed.bin.part")).Length, 0, StopAt);
        Assert.False(File.Exists(Path.Combine(inbox, "killed.bin")));
    }

    [Fact]
    public async Task A_sender_that_goes_offline_before_any_socks5_bytestream_ends_the_receive_at_once()
    {
        // The sender's streamhost offer never arrives (held here), then its connection drops.
        var carolFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = TransferTestKit.MakeFile(_root, "early.bin", 50_000);
        _router.Intercept = stanza => stanza.Element(s_query) is not null && (string?)stanza.Attribute("from") == carol.BoundJid.ToString() ? null : stanza;
        var send = carolFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));

        await _router.DisconnectAsync(carol.BoundJid);

        // The receiver's SOCKS5 negotiation timeout and fallback wait are 10 min.
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Contains(carol.BoundJid + " went offline before any SOCKS5 bytestream came", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_sender_that_goes_offline_after_another_resource_re_offered_the_same_file_still_ends_the_waiting_receive_at_once()
    {
        // The laptop's streamhost offer never arrives (dropped here). The phone (same account) offers the same file in band,
        // which is handed to the waiting receive (event 3008) but cannot take it over; then the laptop's connection drops.
        var laptopFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback });
        await using var laptop = await _router.ConnectAsync("carol", c => c.AddExtension(laptopFiles));
        var phoneFiles = new FileTransferManager(new FileTransferOptions());
        await using var phone = await _router.ConnectAsync("carol", c => c.AddExtension(phoneFiles), _router.ClientOptions("carol", "phone"));
        var source = TransferTestKit.MakeFile(_root, "moved.bin", 50_000);
        var routedToReceive = _bobLog.WaitForAsync(ReofferRoutedEvent);
        _router.Intercept = stanza => stanza.Element(s_query) is not null && (string?)stanza.Attribute("from") == laptop.BoundJid.ToString() ? null : stanza;
        var send = laptopFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        using var stopPhone = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var phoneSend = phoneFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb }, cancellationToken: stopPhone.Token);
        await routedToReceive.WaitAsync(s_cap);

        await _router.DisconnectAsync(laptop.BoundJid);

        // The receiver's SOCKS5 negotiation timeout and fallback wait are 10 min.
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.Contains(laptop.BoundJid + " went offline before any SOCKS5 bytestream came", ex.Message, StringComparison.Ordinal);

        // The phone's offer is not lost with the receive it was handed to: the application is offered it anew.
        var readmitted = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        Assert.Equal(phone.BoundJid, readmitted.From);
        await readmitted.DeclineAsync().WaitAsync(s_cap);
        await stopPhone.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => phoneSend.WaitAsync(s_cap));
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task Two_receives_of_the_same_file_at_once_each_take_an_in_band_re_offer_when_socks5_fails()
    {
        // The sender has no streamhost and falls back to IBB, twice. Its streamhost-less notices are held until both offers
        // are accepted, so both receives wait for a re-offer of the very same file (same sender, name, size, hashes).
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [s_nowhere] });
        var source = TransferTestKit.MakeFile(_root, "twice.bin", 50_000);
        var bothAccepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(s_query) is not null && (string?)stanza.Attribute("from") == _alice.BoundJid.ToString())
            {
                // Blocks only Alice's connection in the router.
                bothAccepted.Task.Wait(s_cap, TestContext.Current.CancellationToken);
            }

            return stanza;
        };

        var firstSend = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var firstOffer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var secondSend = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var secondOffer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var inbox = Path.Combine(_root, "in");
        var first = firstOffer.AcceptAsync(inbox);
        var second = secondOffer.AcceptAsync(inbox);
        bothAccepted.SetResult();

        var received = await Task.WhenAll(first, second).WaitAsync(s_prompt);
        var sent = await Task.WhenAll(firstSend, secondSend).WaitAsync(s_prompt);

        Assert.All(sent, r => Assert.Equal(TransferMethod.Ibb, r.Method));
        Assert.All(received, r => Assert.Equal(TransferMethod.Ibb, r.Method));
        Assert.All(received, r => Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(r.Path!)));
        Assert.NotEqual(received[0].Path, received[1].Path);
    }

    [Fact]
    public async Task A_receiver_that_goes_offline_while_the_sender_waits_for_streamhost_used_ends_the_send_at_once()
    {
        // Alice's streamhost offer never reaches Carol (dropped here), then Carol's connection drops. Alice's negotiation
        // timeout is 10 min; her in-band re-offer is bounced by the router (Carol is offline).
        var alice = Attach(_alice, s_loopback with { NegotiationTimeout = TimeSpan.FromMinutes(10) });
        var carolFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback, FallbackWait = TimeSpan.FromMinutes(10) });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = TransferTestKit.MakeFile(_root, "gone.bin", 50_000);
        var offered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(s_query) is not null && (string?)stanza.Attribute("to") == carol.BoundJid.ToString())
            {
                offered.TrySetResult();
                return null;
            }

            return stanza;
        };
        var send = alice.SendFileAsync(carol.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(carolFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken);
        await offered.Task.WaitAsync(s_cap);

        await _router.DisconnectAsync(carol.BoundJid);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_prompt));
        Assert.Contains(carol.BoundJid + " went offline (its presence) before the SOCKS5 bytestream was set up", ex.Message, StringComparison.Ordinal);
        Assert.Equal(FileTransferErrorKind.PeerUnavailable, ex.ErrorKind);

        // Carol's side, cut off from the router, ends with its own session: no streamhost or in-band re-offer can reach it.
        var ended = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.StartsWith("Our XMPP session ended", ended.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_receivers_own_session_ending_before_any_socks5_bytestream_ends_the_receive_at_once_not_after_the_fallback_wait()
    {
        // Alice's streamhost offer never reaches Bob (dropped here); then Bob's own connection drops, unannounced.
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "ours.bin", 50_000);
        var offered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(s_query) is not null && (string?)stanza.Attribute("to") == _bob.BoundJid.ToString())
            {
                offered.TrySetResult();
                return null;
            }

            return stanza;
        };
        using var stopSend = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions(), cancellationToken: stopSend.Token);
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        await offered.Task.WaitAsync(s_cap);

        await _router.DisconnectAsync(_bob.BoundJid, announce: false).WaitAsync(s_cap);

        // The receiver's SOCKS5 negotiation timeout and fallback wait are 10 min.
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        var closed = Assert.IsType<Bytestreams.BytestreamException>(ex.InnerException);
        Assert.Equal(Bytestreams.BytestreamErrorKind.Closed, closed.ErrorKind);
        Assert.StartsWith("Our XMPP session ended", ex.Message, StringComparison.Ordinal);
        await stopSend.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task The_receivers_own_session_ending_while_it_waits_for_the_in_band_re_offer_ends_the_wait_at_once()
    {
        // Alice has no streamhost: her streamhost-less notice fails Bob's SOCKS5 at once, and he waits for her in-band
        // re-offer, which is dropped here; then Bob's own connection drops, unannounced.
        var alice = Attach(_alice, s_loopback with { DirectCandidates = false, Proxies = [s_nowhere] });
        var source = TransferTestKit.MakeFile(_root, "waiting.bin", 50_000);
        var offers = 0;
        var reoffered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(XName.Get("si", Namespaces.Si)) is not null && (string?)stanza.Attribute("type") == "set"
                && Interlocked.Increment(ref offers) == 2)
            {
                reoffered.TrySetResult();
                return null;
            }

            return stanza;
        };
        using var stopSend = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions(), cancellationToken: stopSend.Token);
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        await reoffered.Task.WaitAsync(s_cap);

        await _router.DisconnectAsync(_bob.BoundJid, announce: false).WaitAsync(s_cap);

        // The fallback wait is 10 min.
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt));
        Assert.StartsWith("Our XMPP session ended, so no in-band re-offer of waiting.bin can reach us", ex.Message, StringComparison.Ordinal);
        await stopSend.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_re_offer_of_a_file_received_twice_goes_to_the_receive_whose_socks5_was_given_up_not_to_the_one_whose_bytes_flow()
    {
        // The first receive's bytes flow (and then pause). The second's streamhost offer never reaches Bob (dropped here), so
        // Alice gives up on SOCKS5 after her 2 s negotiation timeout and re-offers in band, while Bob's side of it still
        // waits for a streamhost (its own timeout is 10 min). The re-offer must not go to the first receive.
        var alice = Attach(_alice, s_loopback with { NegotiationTimeout = TimeSpan.FromSeconds(2) });
        var content = System.Security.Cryptography.RandomNumberGenerator.GetBytes(50_000);
        var file = new Si.FileOfferDescription("both.bin", content.Length);
        var unhashed = new FileSendOptions { ComputeHashes = false };
        var paused = new StoppingStream(content, 10_000);
        using var stopFirst = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var firstSend = alice.SendStreamAsync(_bob.BoundJid, paused, file, unhashed, cancellationToken: stopFirst.Token);
        var firstOffer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var firstReceive = firstOffer.AcceptAsync(Path.Combine(_root, "one"), cancellationToken: stopFirst.Token);
        await paused.Stopped.WaitAsync(s_cap);
        _router.Intercept = stanza => stanza.Element(s_query) is not null && (string?)stanza.Attribute("to") == _bob.BoundJid.ToString() ? null : stanza;

        var secondSend = alice.SendStreamAsync(_bob.BoundJid, new MemoryStream(content), file, unhashed);
        var secondOffer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var secondReceived = await secondOffer.AcceptAsync(Path.Combine(_root, "two")).WaitAsync(s_prompt);
        var secondSent = await secondSend.WaitAsync(s_prompt);

        Assert.Equal(TransferMethod.Ibb, secondSent.Method);
        Assert.Equal(TransferMethod.Ibb, secondReceived.Method);
        Assert.Equal(content, await File.ReadAllBytesAsync(secondReceived.Path!, TestContext.Current.CancellationToken));
        Assert.False(firstReceive.IsCompleted);
        await stopFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => firstReceive.WaitAsync(s_cap));
        await Assert.ThrowsAnyAsync<Exception>(() => firstSend.WaitAsync(s_cap));
    }

    /// <summary>Content that gives its first <paramref name="stopAt"/> bytes, then blocks until cancelled (a sender about to be killed).</summary>
    private sealed class StoppingStream(byte[] content, int stopAt) : MemoryStream(content, writable: false)
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when a read reached the stop.</summary>
        public Task Stopped => _stopped.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= stopAt)
            {
                _stopped.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, stopAt - Position)], cancellationToken);
        }
    }

    private static FileTransferManager Attach(XmppClient client, Socks5BytestreamOptions options)
    {
        var manager = new FileTransferManager(new FileTransferOptions { Socks5 = options });
        client.AddExtension(manager);
        return manager;
    }
}
