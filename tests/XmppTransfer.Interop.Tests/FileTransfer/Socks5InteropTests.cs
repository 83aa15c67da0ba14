using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.FileTransfer;

/// <summary>SOCKS5 bytestreams through a real Prosody (mod_proxy65) and with slixmpp, every file checked by SHA-256.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class Socks5InteropTests(ProsodyFixture fixture) : IAsyncLifetime
{
    private const int Size = 3 * 1024 * 1024 + 7;
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(90);

    /// <summary>Loopback only: our listener on 127.0.0.1, and only loopback candidates (Prosody's proxy is 127.0.0.1) dialed.</summary>
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"] };

    private readonly string _folder = TestFiles.CreateTempDirectory("xmpptransfer-s5b-");
    private readonly List<XmppClient> _clients = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        TestFiles.DeleteDirectoryQuietly(_folder);
    }

    [Fact]
    public async Task We_send_to_ourselves_over_a_direct_socks5_bytestream()
    {
        InteropGate.SkipUnlessEnabled();
        var (_, alice) = await ConnectAsync(ProsodyFixture.Alice, s_loopback);
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback);

        var (sent, received) = await TransferAsync(alice, bob, bobFiles, new FileSendOptions());

        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
    }

    [Fact]
    public async Task We_send_to_ourselves_through_prosodys_proxy65_when_direct_candidates_are_off()
    {
        InteropGate.SkipUnlessEnabled();
        var (_, alice) = await ConnectAsync(ProsodyFixture.Alice, s_loopback with { DirectCandidates = false });
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback);

        var (sent, received) = await TransferAsync(alice, bob, bobFiles, new FileSendOptions { Method = TransferMethodPreference.Socks5 });

        Assert.Equal(TransferMethod.Socks5Proxy, sent.Method);
        Assert.Equal(TransferMethod.Socks5Proxy, received.Method);
    }

    [Fact]
    public async Task A_configured_proxy_jid_is_used_without_discovery()
    {
        InteropGate.SkipUnlessEnabled();
        var proxy = Jid.Parse(fixture.Server.ProxyJid!);
        var options = s_loopback with { DirectCandidates = false, DiscoverProxies = false, Proxies = [proxy] };
        var (_, alice) = await ConnectAsync(ProsodyFixture.Alice, options);
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback);

        var sent = (await TransferAsync(alice, bob, bobFiles, new FileSendOptions { Method = TransferMethodPreference.Socks5 })).Sent;

        Assert.Equal(TransferMethod.Socks5Proxy, sent.Method);
    }

    [Fact]
    public async Task When_every_streamhost_is_unreachable_we_fall_back_to_ibb_on_both_sides()
    {
        InteropGate.SkipUnlessEnabled();

        // Carol plays a proxy whose SOCKS5 port is closed: she answers the address query with a dead loopback port.
        var deadPort = ClosedLoopbackPort();
        var carol = await ConnectClientAsync(ProsodyFixture.Carol);
        carol.RegisterIqHandler(XName.Get("query", Namespaces.Bytestreams), IqType.Get, (_, _) => ValueTask.FromResult<XElement?>(
            new XElement(XName.Get("query", Namespaces.Bytestreams),
                new XElement(XName.Get("streamhost", Namespaces.Bytestreams),
                    new XAttribute("jid", carol.BoundJid.ToString()), new XAttribute("host", "127.0.0.1"), new XAttribute("port", deadPort)))));
        var options = s_loopback with { DirectCandidates = false, DiscoverProxies = false, Proxies = [carol.BoundJid] };
        var (_, alice) = await ConnectAsync(ProsodyFixture.Alice, options);
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback);

        var (sent, received) = await TransferAsync(alice, bob, bobFiles, new FileSendOptions());

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
    }

    [Fact]
    public async Task We_send_to_slixmpp_over_socks5()
    {
        InteropGate.SkipUnlessEnabled();
        var inbox = Directory.CreateDirectory(Path.Combine(_folder, "slix-in")).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(fixture.PeerOptions(ProsodyFixture.Bob), inbox, count: 1);
        var bobJid = Jid.Parse(await receiver.WaitReadyAsync(s_cap, Ct));
        var (_, alice) = await ConnectAsync(ProsodyFixture.Alice, s_loopback);
        var file = Path.Combine(_folder, "to-slix.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, Ct);

        var sent = await alice.SendFileAsync(bobJid, file, new FileSendOptions { Method = TransferMethodPreference.Socks5 }, cancellationToken: Ct)
            .WaitAsync(s_cap, Ct);
        JsonElement received = await receiver.WaitForEventAsync("received", s_cap, Ct);

        Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
        Assert.Equal("s5b", received.GetProperty("method").GetString());
        Assert.Equal(Size, received.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.GetProperty("file").GetString()!, Ct));
    }

    [Fact]
    public async Task Slixmpp_sends_to_us_over_socks5_through_prosodys_proxy()
    {
        InteropGate.SkipUnlessEnabled();
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback);
        var file = Path.Combine(_folder, "from-slix.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, Ct);

        await using var sender = SlixmppPeer.StartSender(
            fixture.PeerOptions(ProsodyFixture.Alice), bob.BoundJid.ToString(), file, new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b });
        var offer = await NextOfferAsync(bobFiles);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in"), cancellationToken: Ct).WaitAsync(s_cap, Ct);
        JsonElement sent = await sender.WaitForEventAsync("sent", s_cap, Ct);

        Assert.Equal(TransferMethod.Socks5Proxy, received.Method);
        Assert.Equal("s5b", sent.GetProperty("method").GetString());
        Assert.Equal(Size, received.BytesTransferred);
        Assert.Equal(sha256, received.Sha256);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!, Ct));
    }

    [Fact]
    public async Task Slixmpp_sends_to_us_through_prosodys_proxy_and_an_unhashed_receive_splices_the_bytes_into_the_file()
    {
        InteropGate.SkipUnlessEnabled();
        var log = new RecordingLoggerFactory();
        var (bob, bobFiles) = await ConnectAsync(ProsodyFixture.Bob, s_loopback, log);
        var file = Path.Combine(_folder, "from-slix-unhashed.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, Ct);

        // slixmpp offers no hash; with none computed either, our receive takes the zero-copy path from the proxy's socket.
        await using var sender = SlixmppPeer.StartSender(
            fixture.PeerOptions(ProsodyFixture.Alice), bob.BoundJid.ToString(), file, new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b });
        var offer = await NextOfferAsync(bobFiles);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in"), new FileReceiveOptions { ComputeSha256 = false }, cancellationToken: Ct).WaitAsync(s_cap, Ct);
        await sender.WaitForEventAsync("sent", s_cap, Ct);

        Assert.Equal(TransferMethod.Socks5Proxy, received.Method);
        Assert.Null(offer.File.Sha256);
        Assert.False(received.Verified);
        Assert.Equal(Size, received.BytesTransferred);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!, Ct));
        Assert.Contains(log.Events, e => e.Id.Id == 3006); // FileTransferLog.Splicing: the receive took the zero-copy path
    }

    private async Task<(FileTransferResult Sent, FileTransferResult Received)> TransferAsync(
        FileTransferManager alice, XmppClient bob, FileTransferManager bobFiles, FileSendOptions options)
    {
        var file = Path.Combine(_folder, "out-" + Guid.NewGuid().ToString("N") + ".bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, Ct);
        var send = alice.SendFileAsync(bob.BoundJid, file, options, cancellationToken: Ct);
        var offer = await NextOfferAsync(bobFiles);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in"), cancellationToken: Ct).WaitAsync(s_cap, Ct);
        var sent = await send.WaitAsync(s_cap, Ct);

        Assert.Equal(Size, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(sha256, received.Sha256);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!, Ct));
        return (sent, received);
    }

    private static async Task<IncomingFileOffer> NextOfferAsync(FileTransferManager files)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(s_cap);
        await foreach (var offer in files.ReceiveOffersAsync(timeout.Token))
        {
            return offer;
        }

        throw new InvalidOperationException("The offers ended.");
    }

    private async Task<(XmppClient Client, FileTransferManager Files)> ConnectAsync(string user, Socks5BytestreamOptions socks5, RecordingLoggerFactory? log = null)
    {
        var files = new FileTransferManager(new FileTransferOptions { Socks5 = socks5, FallbackWait = TimeSpan.FromSeconds(20) });
        var client = await ConnectClientAsync(user, files, log);
        return (client, files);
    }

    private async Task<XmppClient> ConnectClientAsync(string user, IXmppExtension? extension = null, RecordingLoggerFactory? log = null)
    {
        var server = fixture.Server;
        var options = new XmppClientOptions
        {
            Jid = Jid.Create(user, server.Domain, "xft-" + Guid.NewGuid().ToString("N")[..8]),
            Password = ProsodyFixture.Password,
            Host = server.Host,
            Port = server.C2sPort,
            TrustedCertificateSha256 = server.CertificateSha256,
        };
        var client = new XmppClient(log is null ? options : options with { LoggerFactory = log });
        _clients.Add(client);
        if (extension is not null)
        {
            client.AddExtension(extension);
        }

        await client.ConnectAsync(Ct).WaitAsync(s_cap, Ct);
        return client;
    }

    private static int ClosedLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
