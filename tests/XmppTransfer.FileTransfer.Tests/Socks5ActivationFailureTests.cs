using System.Net;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// An empty file through a proxy whose activation fails: the SOCKS5 side is our real proxy (both legs pair), its XMPP face
/// here answers the <c>activate</c> with an error. Nothing was relayed, so neither side may report the file as sent over
/// SOCKS5: the sender falls back in band when it can, and the receiver takes that re-offer instead of saving the file twice.
/// </summary>
public sealed class Socks5ActivationFailureTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-s5b-activation-").FullName;
    private LoopbackRouter _router = null!;
    private Socks5Proxy _proxy = null!;
    private XmppClient _proxyFace = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _aliceFiles = null!;
    private FileTransferManager _bobFiles = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _proxy = new Socks5Proxy(Socks5ProxyOptions.Default with { ListenEndpoints = [new IPEndPoint(IPAddress.Loopback, 0)] });
        await _proxy.StartAsync(TestContext.Current.CancellationToken);
        _proxyFace = await _router.ConnectAsync("proxy");
        var streamHost = new XElement(
            XName.Get("streamhost", Namespaces.Bytestreams),
            new XAttribute("jid", _proxyFace.BoundJid.ToString()),
            new XAttribute("host", "127.0.0.1"),
            new XAttribute("port", _proxy.LocalEndpoints[0].Port));
        _proxyFace.RegisterIqHandler(s_query, IqType.Get, (_, _) => ValueTask.FromResult<XElement?>(new XElement(s_query, streamHost)));
        _proxyFace.RegisterIqHandler(s_query, IqType.Set, (_, _) =>
            throw new XmppStanzaErrorException(StanzaError.NotAllowed("Activation refused.")));

        _aliceFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback with { DirectCandidates = false, Proxies = [_proxyFace.BoundJid] } });
        _bobFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback });
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles));
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles));
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _proxyFace.DisposeAsync();
        await _router.DisposeAsync();
        await _proxy.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task An_empty_file_whose_proxy_activation_fails_arrives_once_in_band_and_both_sides_say_so()
    {
        var source = TransferTestKit.MakeFile(_root, "empty.bin", 0);

        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Auto });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(0, new FileInfo(received.Path!).Length);
        Assert.Equal(["empty.bin"], Directory.GetFiles(Path.Combine(_root, "in")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task An_empty_file_whose_proxy_activation_fails_fails_on_both_sides_when_the_sender_offered_socks5_alone()
    {
        var source = TransferTestKit.MakeFile(_root, "empty.bin", 0);

        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Socks5 });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"));

        var sendFailure = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        var receiveFailure = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, sendFailure.ErrorKind);
        Assert.Equal(FileTransferErrorKind.TransferFailed, receiveFailure.ErrorKind);
        Assert.Contains("reset before the sender closed it", receiveFailure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("empty.bin", Directory.GetFiles(Path.Combine(_root, "in")).Select(Path.GetFileName));
    }
}
