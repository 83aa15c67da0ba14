using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Tests.Oob;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// Out-of-band transfers when an XMPP session ends while the receiver downloads: the HTTP download does not need it, so
/// it finishes and is verified; only the receiver's answer is lost, and the sender says so rather than claiming delivery.
/// </summary>
public sealed class OobSessionEndTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    /// <summary>Far below the serve deadline (30 min): a send that ends within it did not wait for the deadline.</summary>
    private static readonly TimeSpan s_prompt = TimeSpan.FromSeconds(15);

    private static readonly OobOptions s_lan = OobOptions.Default with { AllowPrivateNetworks = true, InactivityTimeout = TimeSpan.FromSeconds(5) };
    private static readonly XName s_url = XName.Get("url", Namespaces.OobIq);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-oob-end-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _aliceFiles = null!;
    private FileTransferManager _bobFiles = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan });
        _bobFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan });
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles));
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles));
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_download_under_way_when_the_senders_session_ends_completes_verified_and_the_send_fails_as_unconfirmed_naming_the_offer()
    {
        // Larger than what loopback socket buffers hold, so the sender still serves while the relay holds.
        var source = TransferTestKit.MakeFile(_root, "served.bin", 32 * 1024 * 1024);
        await using var relay = new HoldingRelay(holdAfter: 256 * 1024);
        RouteDownloadsThrough(relay);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        await relay.Holding.WaitAsync(s_cap);

        // Alice's connection drops mid-file; once her side has seen it, the rest of the file is let through.
        await _router.DisconnectAsync(_alice.BoundJid).WaitAsync(s_cap);
        await Assert.ThrowsAnyAsync<Exception>(() => _alice.Completion.WaitAsync(s_cap));
        relay.Release();

        var received = await receive.WaitAsync(s_cap);
        Assert.True(received.Verified);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Unconfirmed, ex.ErrorKind);
        Assert.Equal(offer.Sid, ex.Sid);
        Assert.StartsWith($"served.bin was served to {_bob.BoundJid} in full, but our XMPP session ended", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<XmppException>(ex.InnerException);
    }

    [Fact]
    public async Task A_download_that_stalls_after_the_senders_session_ended_is_given_up_after_the_inactivity_timeout_with_the_sessions_error()
    {
        await using var alice = await _router.ConnectAsync(
            "alice", c => c.AddExtension(new FileTransferManager(new FileTransferOptions { Oob = s_lan with { InactivityTimeout = TimeSpan.FromSeconds(1) } })));
        // Carol would wait a minute for the rest: only the sender's own bound can end this early.
        var carolFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan with { InactivityTimeout = TimeSpan.FromMinutes(1) } });
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = TransferTestKit.MakeFile(_root, "stalled.bin", 32 * 1024 * 1024);
        await using var relay = new HoldingRelay(holdAfter: 256 * 1024);
        RouteDownloadsThrough(relay);
        var send = alice.GetExtension<FileTransferManager>()!.SendFileAsync(carol.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await TransferTestKit.NextOfferAsync(carolFiles, s_cap);
        using var stopReceive = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: stopReceive.Token);
        await relay.Holding.WaitAsync(s_cap);

        // The relay never lets the rest through: the receiver's side stalls for good.
        await _router.DisconnectAsync(alice.BoundJid).WaitAsync(s_cap);

        var ex = await Assert.ThrowsAnyAsync<XmppException>(() => send.WaitAsync(s_prompt));
        Assert.IsNotType<FileTransferException>(ex);
        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        Assert.Equal(offer.Sid, ex.Data[FileTransferException.OfferSidKey]);
        await stopReceive.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => receive.WaitAsync(s_cap));
    }

    [Fact]
    public async Task The_senders_session_ending_before_any_download_stops_serving_at_once_and_fails_with_the_sessions_error()
    {
        // Bob never sees the offer (dropped here): nobody downloads.
        var source = TransferTestKit.MakeFile(_root, "unseen.bin", 100_000);
        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if (stanza.Element(OobQuery.Name)?.Element(s_url) is { } link && (string?)stanza.Attribute("type") == "set")
            {
                url.TrySetResult(new Uri(link.Value));
                return null;
            }

            return stanza;
        };
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var served = await url.Task.WaitAsync(s_cap);

        await _router.DisconnectAsync(_alice.BoundJid).WaitAsync(s_cap);

        var ex = await Assert.ThrowsAnyAsync<XmppException>(() => send.WaitAsync(s_prompt));
        Assert.IsNotType<FileTransferException>(ex);
        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        using var http = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(served, TestContext.Current.CancellationToken).WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_download_under_way_when_the_receivers_own_session_ends_is_saved_and_verified()
    {
        var source = TransferTestKit.MakeFile(_root, "kept.bin", 32 * 1024 * 1024);
        await using var relay = new HoldingRelay(holdAfter: 256 * 1024);
        RouteDownloadsThrough(relay);
        using var stopSend = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob }, cancellationToken: stopSend.Token);
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));
        await relay.Holding.WaitAsync(s_cap);

        // Bob's own connection drops, unannounced; once his side has seen it, the rest of the file is let through.
        await _router.DisconnectAsync(_bob.BoundJid, announce: false).WaitAsync(s_cap);
        await Assert.ThrowsAnyAsync<Exception>(() => _bob.Completion.WaitAsync(s_cap));
        relay.Release();

        var received = await receive.WaitAsync(s_cap);
        Assert.True(received.Verified);
        Assert.Equal(Path.Combine(_root, "in", "kept.bin"), received.Path);
        Assert.Equal(TransferTestKit.Sha256(source), received.Sha256);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        Assert.False(File.Exists(received.Path + ".part"));

        // Bob's answer cannot reach Alice, who would wait for it up to the serve deadline.
        await stopSend.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));
    }

    /// <summary>Rewrites the URL of the next out-of-band offer to go through <paramref name="relay"/>, started towards the real server.</summary>
    private void RouteDownloadsThrough(HoldingRelay relay)
    {
        var started = 0;
        _router.Intercept = stanza =>
        {
            if (stanza.Element(OobQuery.Name)?.Element(s_url) is { } link && (string?)stanza.Attribute("type") == "set"
                && Interlocked.Exchange(ref started, 1) == 0)
            {
                var real = new Uri(link.Value);
                relay.Start(real.Port);
                link.Value = new UriBuilder(real) { Port = relay.Port }.Uri.ToString();
            }

            return stanza;
        };
    }
}
