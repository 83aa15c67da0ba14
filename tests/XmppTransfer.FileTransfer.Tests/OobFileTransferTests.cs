using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

public sealed class OobFileTransferTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private static readonly OobOptions s_lan = OobOptions.Default with { AllowPrivateNetworks = true, InactivityTimeout = TimeSpan.FromSeconds(5) };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-oob-").FullName;
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
    public async Task A_file_sent_by_url_is_downloaded_and_verified()
    {
        var source = MakeFile("report.pdf", 3 * 1024 * 1024 + 5);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();
        Assert.Equal("report.pdf", offer.SafeName);
        Assert.Equal(Uri.UriSchemeHttp, offer.Url!.Scheme);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Oob, sent.Method);
        Assert.Equal(TransferMethod.Oob, received.Method);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(sent.Sha256, received.Sha256);

        // Serving stopped: the URL is dead now.
        using var http = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(offer.Url).WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_declined_url_offer_fails_the_send_with_declined()
    {
        var source = MakeFile("no.bin", 10);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();
        await offer.DeclineAsync();
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
    }

    [Fact]
    public async Task An_unreachable_url_fails_both_sides_with_item_not_found()
    {
        var port = FreePort.Next();
        var answer = OfferUrl($"http://127.0.0.1:{port}/x/missing.bin");
        var offer = await NextOfferAsync();
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        var error = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal("item-not-found", error.Error.Condition);
    }

    [Fact]
    public async Task A_server_that_lies_about_the_length_fails_the_download_and_leaves_no_file()
    {
        await using var liar = new RawHttpServer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" + new string('x', 400));
        var answer = OfferUrl($"http://127.0.0.1:{liar.Port}/f/short.bin");
        var offer = await NextOfferAsync();
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.False(File.Exists(Path.Combine(_root, "in", "short.bin")));
    }

    [Fact]
    public async Task Loopback_urls_are_refused_unless_private_networks_are_allowed()
    {
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(new FileTransferManager()));
        var carolFiles = carol.GetExtension<FileTransferManager>()!;
        var source = MakeFile("local.bin", 100);
        var send = _aliceFiles.SendFileAsync(carol.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        using var timeout = new CancellationTokenSource(s_cap);
        IncomingFileOffer? offer = null;
        await foreach (var o in carolFiles.ReceiveOffersAsync(timeout.Token))
        {
            offer = o;
            break;
        }

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer!.AcceptAsync(Path.Combine(_root, "carol")).WaitAsync(s_cap));
        Assert.Contains("loopback or private", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/x")]
    [InlineData("not a url")]
    public async Task Non_http_urls_are_refused_with_bad_request(string url)
    {
        var query = new XElement(OobQuery.Name, new XElement(XName.Get("url", Namespaces.OobIq), url));
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, query)).WaitAsync(s_cap));
        Assert.Equal("bad-request", ex.Error.Condition);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_with_a_range_request()
    {
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        var sha = SHA256.HashData(bytes);
        var inbox = Path.Combine(_root, "in");

        // First server dies after 50,000 bytes.
        await using (var broken = new RawHttpServer(Encoding.Latin1.GetString(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n").Concat(bytes.Take(50_000)).ToArray())))
        {
            var first = OfferUrl($"http://127.0.0.1:{broken.Port}/a/data.bin", sha);
            var offer = await NextOfferAsync();
            await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
            await Assert.ThrowsAsync<XmppStanzaErrorException>(() => first.WaitAsync(s_cap));
        }

        Assert.Equal(50_000, new FileInfo(Path.Combine(inbox, "data.bin.part")).Length);

        // Second server honours the range and sends only the rest.
        await using var ranged = new RawHttpServer(request =>
        {
            Assert.Contains("Range: bytes=50000-", request, StringComparison.Ordinal);
            var head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 50000-199999/200000\r\nContent-Length: 150000\r\nConnection: close\r\n\r\n";
            return [.. Encoding.ASCII.GetBytes(head), .. bytes.Skip(50_000)];
        });
        var second = OfferUrl($"http://127.0.0.1:{ranged.Port}/b/data.bin", sha);
        var retry = await NextOfferAsync();
        var received = await retry.AcceptAsync(inbox).WaitAsync(s_cap);
        await second.WaitAsync(s_cap);

        Assert.Equal(50_000, received.ResumedFrom);
        Assert.Equal(150_000, received.BytesTransferred);
        Assert.Equal(Convert.ToHexStringLower(sha), Sha256(received.Path!));
    }

    [Fact]
    public async Task Links_in_messages_are_reported_and_can_be_downloaded()
    {
        var source = MakeFile("shared.txt", 1234);
        await using var server = new RawHttpServer(_ => [.. Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n"), .. File.ReadAllBytes(source)]);
        var url = $"http://127.0.0.1:{server.Port}/upload/shared.txt";
        await _alice.SendAsync(new XElement(
            Stanza.Message,
            new XAttribute("to", _bob.BoundJid.ToString()),
            new XElement(XName.Get("body", Namespaces.Client), url),
            new XElement(XName.Get("x", Namespaces.OobX), new XElement(XName.Get("url", Namespaces.OobX), url))));

        using var timeout = new CancellationTokenSource(s_cap);
        OobLink? link = null;
        await foreach (var l in _bobFiles.ReceiveLinksAsync(timeout.Token))
        {
            link = l;
            break;
        }

        Assert.Equal(url, link!.Url.ToString());
        var received = await _bobFiles.DownloadLinkAsync(link, Path.Combine(_root, "links")).WaitAsync(s_cap);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    private Task<XElement> OfferUrl(string url, byte[]? sha256 = null) =>
        _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, new OobQuery(new Uri(url), null, null, sha256).ToXml()), TimeSpan.FromSeconds(50));

    private Task<IncomingFileOffer> NextOfferAsync() => TransferTestKit.NextOfferAsync(_bobFiles, s_cap);

    private string MakeFile(string name, int size) => TransferTestKit.MakeFile(_root, name, size);

    private static string Sha256(string path) => TransferTestKit.Sha256(path);

    /// <summary>A one-connection-at-a-time HTTP responder that answers every request with canned bytes.</summary>
    private sealed class RawHttpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _loop;

        public RawHttpServer(string response)
            : this(_ => Encoding.Latin1.GetBytes(response))
        {
        }

        public RawHttpServer(Func<string, byte[]> respond)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync();
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    var request = new StringBuilder();
                    while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer);
                        if (n == 0)
                        {
                            break;
                        }

                        request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }

                    await stream.WriteAsync(respond(request.ToString()));
                    client.Client.Shutdown(SocketShutdown.Both);
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
            _listener.Dispose();
        }
    }
}
