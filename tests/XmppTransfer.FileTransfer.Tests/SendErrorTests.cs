using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// What a sender is told when a send fails: the refusals of an offer as the disco check words them, a fall back to in-band
/// that cannot start said after the SOCKS5 failure that caused it, a receiver that is no client, a listening port taken.
/// </summary>
public sealed class SendErrorTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-send-error-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _bobFiles = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _bobFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback, FallbackWait = TimeSpan.FromSeconds(2) });
        _alice = await _router.ConnectAsync("alice");
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
    public async Task A_fall_back_re_offer_to_a_receiver_gone_offline_says_the_socks5_failure_first_and_that_the_receiver_is_not_online()
    {
        // SOCKS5 fails (the streamhost is a closed port); bob answers so, and is gone by the time the in-band re-offer comes,
        // which his server (the router) answers service-unavailable, as Prosody does for a full JID that went offline.
        using var deadPort = new RefusingPort();
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "gone.bin", 100_000);
        var bob = _bob.BoundJid;
        _router.Intercept = stanza =>
        {
            foreach (var host in stanza.Descendants(XName.Get("streamhost", Namespaces.Bytestreams)))
            {
                host.SetAttributeValue("port", deadPort.Port);
            }

            if ((string?)stanza.Attribute("from") == bob.ToString() && (string?)stanza.Attribute("type") == "error")
            {
                // Removed from the routing table at once (before this returns), so the re-offer finds no bob.
                _ = _router.DisconnectAsync(bob);
            }

            return stanza;
        };

        var send = alice.SendFileAsync(bob, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        await Assert.ThrowsAnyAsync<Exception>(() => receive.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.PeerUnavailable, ex.ErrorKind);
        var socks5 = Assert.IsType<FileTransferException>(ex.InnerException);
        Assert.IsType<BytestreamException>(socks5.InnerException);
        Assert.StartsWith(socks5.Message.TrimEnd('.') + "; the fall back to in-band could not start: ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith($"{bob} is not online (service-unavailable).", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not accept SI", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_offer_refused_with_service_unavailable_after_the_disco_check_says_the_receiver_is_not_online()
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "offline.bin", 1000);
        var bob = _bob.BoundJid;
        _router.Intercept = stanza =>
        {
            if (stanza.Element(XName.Get("si", Namespaces.Si)) is not null && (string?)stanza.Attribute("type") == "set")
            {
                _ = _router.DisconnectAsync(bob);
            }

            return stanza;
        };

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => alice.SendFileAsync(bob, source, new FileSendOptions()).WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.PeerUnavailable, ex.ErrorKind);
        Assert.Equal($"{bob} is not online (service-unavailable).", ex.Message);
    }

    [Theory]
    [InlineData("Offer declined.")]
    [InlineData("offer declined")]
    [InlineData("Offer Declined")]
    public async Task A_decline_whose_text_only_says_offer_declined_in_any_case_is_not_repeated(string text)
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "no.bin", 1000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        await offer.DeclineAsync(text, TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
        Assert.Equal($"{_bob.BoundJid} declined the file.", ex.Message);
    }

    [Fact]
    public async Task A_declined_offer_fails_with_the_sid_of_the_offer()
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "sid.bin", 1000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        await offer.DeclineAsync(cancellationToken: TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal(offer.Sid, ex.Sid);
    }

    [Fact]
    public async Task A_decline_that_gives_a_reason_keeps_it()
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "big.bin", 1000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        await offer.DeclineAsync("Offer declined: no room.", TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal($"{_bob.BoundJid} declined the file: Offer declined: no room.", ex.Message);
    }

    [Fact]
    public async Task Sending_to_a_bare_domain_says_it_is_a_server_or_component_and_not_a_client()
    {
        var alice = Attach(_alice, s_loopback);
        var source = TransferTestKit.MakeFile(_root, "proxy.bin", 10);

        var ex = await Assert.ThrowsAsync<FileTransferException>(
            () => alice.SendFileAsync(Jid.Parse("proxy.example.test"), source, new FileSendOptions()).WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.NotSupported, ex.ErrorKind);
        Assert.StartsWith("proxy.example.test is a server or a component, not a client that receives files", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("proxy.example.test/resource", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_socks5_port_is_raised_and_the_auto_method_falls_back_to_in_band()
    {
        using var holder = HoldPort(out var port);
        var alice = Attach(_alice, s_loopback with { MinPort = port, MaxPort = port });
        var raised = new List<BytestreamException>();
        _alice.GetExtension<Socks5BytestreamManager>()!.DirectListenFailed += failure =>
        {
            lock (raised)
            {
                raised.Add(failure);
            }
        };
        var source = TransferTestKit.MakeFile(_root, "taken.bin", 50_000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions());
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        lock (raised)
        {
            Assert.Equal($"Cannot listen for direct SOCKS5 connections on port {port}: AddressAlreadyInUse.", Assert.Single(raised).Message);
        }
    }

    [Fact]
    public async Task A_taken_socks5_port_with_socks5_only_and_no_proxy_fails_with_the_listen_failure_as_its_cause()
    {
        using var holder = HoldPort(out var port);
        var alice = Attach(_alice, s_loopback with { MinPort = port, MaxPort = port });
        BytestreamException? raised = null;
        _alice.GetExtension<Socks5BytestreamManager>()!.DirectListenFailed += failure => Volatile.Write(ref raised, failure);
        var source = TransferTestKit.MakeFile(_root, "only.bin", 1000);

        var send = alice.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        await Assert.ThrowsAnyAsync<Exception>(() => receive.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Same(Volatile.Read(ref raised), ex.InnerException);
        Assert.Equal($"Cannot listen for direct SOCKS5 connections on port {port}: AddressAlreadyInUse.", ex.Message);
    }

    [Fact]
    public void An_out_of_band_refusal_that_names_the_url_itself_does_not_say_it_twice()
    {
        var peer = Jid.Parse("bob@example.test/r1");
        var url = new Uri("http://127.0.0.1:8080/a.bin");

        Assert.Equal(
            "bob@example.test/r1 did not download the file: Refusing to download http://127.0.0.1:8080/a.bin: 127.0.0.1 is a loopback address.",
            FileTransferManager.DownloadFailed(peer, url, "Refusing to download http://127.0.0.1:8080/a.bin: 127.0.0.1 is a loopback address."));
        Assert.Equal(
            "bob@example.test/r1 could not download http://127.0.0.1:8080/a.bin: SHA-256 mismatch.",
            FileTransferManager.DownloadFailed(peer, url, "SHA-256 mismatch"));
        Assert.Equal("bob@example.test/r1 could not download http://127.0.0.1:8080/a.bin (item-not-found).", FileTransferManager.DownloadFailed(peer, url, null));
    }

    private static Socket HoldPort(out int port)
    {
        var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        return holder;
    }

    private static FileTransferManager Attach(XmppClient client, Socks5BytestreamOptions options)
    {
        var manager = new FileTransferManager(new FileTransferOptions { Socks5 = options });
        client.AddExtension(manager);
        return manager;
    }
}
