using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Storage;
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
    private Func<string, long?> _bobFreeSpace = DiskSpace.FreeBytes;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan });
        _bobFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan }) { FreeSpace = directory => _bobFreeSpace(directory) };
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
    public async Task A_url_offer_refused_as_not_implemented_says_the_receiver_does_not_accept_out_of_band_data_and_names_the_sid()
    {
        // A client without XEP-0066 answers feature-not-implemented: here Bob's decline, rewritten on its way to Alice.
        _router.Intercept = stanza =>
        {
            if (stanza.Name.LocalName == "iq" && (string?)stanza.Attribute("type") == "error" && stanza.Element(XName.Get("error", "jabber:client")) is { } error)
            {
                error.ReplaceWith(StanzaError.FeatureNotImplemented().ToXml());
            }

            return stanza;
        };
        var source = MakeFile("no-oob.bin", 10);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();
        await offer.DeclineAsync(cancellationToken: TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.NotSupported, ex.ErrorKind);
        Assert.Equal($"{_bob.BoundJid} does not accept out-of-band data (XEP-0066, feature-not-implemented).", ex.Message);
        Assert.Equal(offer.Sid, ex.Sid);
    }

    [Fact]
    public async Task A_url_offer_from_a_sender_not_on_the_accept_list_is_declined_and_reported()
    {
        var carolFiles = new FileTransferManager(new FileTransferOptions { Oob = s_lan, AcceptFrom = [Jid.Parse("bob@example.test")] });
        var declined = new List<DeclinedOffer>();
        carolFiles.OfferDeclined += d => declined.Add(d);
        await using var carol = await _router.ConnectAsync("carol", c => c.AddExtension(carolFiles));
        var source = MakeFile("link.bin", 10);
        var ex = await Assert.ThrowsAsync<FileTransferException>(
            () => _aliceFiles.SendFileAsync(carol.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob }).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
        var report = Assert.Single(declined);
        Assert.Equal(OfferDeclineReason.SenderNotAccepted, report.Reason);
        Assert.Equal(_alice.BoundJid, report.From);
        Assert.Equal(-1, report.File.Size);
    }

    [Fact]
    public async Task An_unreachable_url_fails_both_sides_with_item_not_found()
    {
        using var closed = new RefusingPort();
        var answer = OfferUrl($"http://127.0.0.1:{closed.Port}/x/missing.bin");
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
        Assert.Contains("has only loopback, private or reserved addresses", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowPrivateNetworks", ex.Message, StringComparison.Ordinal);
        // One sentence: not the handler's "(host:port)" wrapped around ours.
        Assert.DoesNotContain(").", ex.Message[..^1], StringComparison.Ordinal);
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
    public async Task A_download_cut_mid_body_keeps_exactly_the_bytes_received_and_the_next_offer_resumes_it_with_a_range_request()
    {
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        var sha = SHA256.HashData(bytes);
        var inbox = Path.Combine(_root, "in");

        // The connection drops partway into the second receive buffer: the half-filled buffer is kept too.
        const int CutAt = 1024 * 1024 + 12_345;
        await using (var broken = new RawHttpServer(_ => Http($"200 OK\r\nContent-Length: {bytes.Length}", bytes.AsSpan(0, CutAt))))
        {
            var first = OfferUrl($"http://127.0.0.1:{broken.Port}/a/cut.bin", sha);
            var offer = await NextOfferAsync();
            var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
            Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
            Assert.Contains($"broke off after {CutAt} bytes", ex.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<XmppStanzaErrorException>(() => first.WaitAsync(s_cap));
        }

        var part = Path.Combine(inbox, "cut.bin.part");
        Assert.Equal(bytes[..CutAt], await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));

        await using var ranged = new RawHttpServer(_ => Http(
            $"206 Partial Content\r\nContent-Range: bytes {CutAt}-{bytes.Length - 1}/{bytes.Length}\r\nContent-Length: {bytes.Length - CutAt}", bytes.AsSpan(CutAt)));
        var second = OfferUrl($"http://127.0.0.1:{ranged.Port}/b/cut.bin", sha);
        var retry = await NextOfferAsync();
        var received = await retry.AcceptAsync(inbox).WaitAsync(s_cap);
        await second.WaitAsync(s_cap);

        Assert.Contains($"Range: bytes={CutAt}-", Assert.Single(ranged.Requests), StringComparison.Ordinal);
        Assert.Equal(CutAt, received.ResumedFrom);
        Assert.Equal(bytes.Length - CutAt, received.BytesTransferred);
        Assert.Equal(bytes.Length, received.Size);
        Assert.True(received.Verified);
        Assert.Equal(Convert.ToHexStringLower(sha), received.Sha256);
        Assert.Equal(Convert.ToHexStringLower(sha), Sha256(received.Path!));
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_server_that_ignores_the_range_sends_the_whole_file_again_and_it_is_verified_from_the_start()
    {
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        var sha = SHA256.HashData(bytes);
        var inbox = Path.Combine(_root, "in");
        await using (var broken = new RawHttpServer(_ => Http($"200 OK\r\nContent-Length: {bytes.Length}", bytes.AsSpan(0, 50_000))))
        {
            var first = OfferUrl($"http://127.0.0.1:{broken.Port}/a/again.bin", sha);
            var offer = await NextOfferAsync();
            await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
            await Assert.ThrowsAsync<XmppStanzaErrorException>(() => first.WaitAsync(s_cap));
        }

        await using var whole = new RawHttpServer(_ => Http($"200 OK\r\nContent-Length: {bytes.Length}", bytes));
        var second = OfferUrl($"http://127.0.0.1:{whole.Port}/b/again.bin", sha);
        var retry = await NextOfferAsync();
        var received = await retry.AcceptAsync(inbox).WaitAsync(s_cap);
        await second.WaitAsync(s_cap);

        Assert.Contains("Range: bytes=50000-", Assert.Single(whole.Requests), StringComparison.Ordinal);
        Assert.Equal(0, received.ResumedFrom);
        Assert.Equal(bytes.Length, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Convert.ToHexStringLower(sha), Sha256(received.Path!));
    }

    [Fact]
    public async Task A_part_that_already_holds_the_whole_file_is_verified_and_finalised_without_being_downloaded_again()
    {
        var source = MakeFile("whole.bin", 300_000);
        var inbox = Path.Combine(_root, "in");
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();

        // The earlier receive wrote the last byte and stopped before it renamed the part. The sender's server (Kestrel)
        // answers a range from the part's length with 416, as any server does for a range past the end.
        var part = TransferTestKit.LeavePart(inbox, offer, await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken));
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(Path.Combine(inbox, "whole.bin"), received.Path);
        Assert.Equal(300_000, received.Size);
        Assert.Equal(300_000, received.ResumedFrom);
        Assert.Equal(0, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), received.Sha256);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(0, sent.BytesTransferred);
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_part_of_the_whole_length_that_fails_its_hash_is_discarded_and_the_file_downloaded_again_from_the_start()
    {
        var source = MakeFile("wrong.bin", 300_000);
        var inbox = Path.Combine(_root, "in");
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();
        var part = TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(300_000));

        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(0, received.ResumedFrom);
        Assert.Equal(300_000, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(300_000, sent.BytesTransferred);
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_whole_length_part_that_fails_its_hash_is_downloaded_again_once_and_not_in_a_loop()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var inbox = Path.Combine(_root, "in");

        // The server's whole file is not the one the offer's hash names either.
        await using var server = new RawHttpServer(request => request.Contains("Range:", StringComparison.OrdinalIgnoreCase)
            ? Http($"416 Range Not Satisfiable\r\nContent-Range: bytes */{bytes.Length}\r\nContent-Length: 0", [])
            : Http($"200 OK\r\nContent-Length: {bytes.Length}", RandomNumberGenerator.GetBytes(bytes.Length)));
        var answer = OfferUrl($"http://127.0.0.1:{server.Port}/f/twice.bin", SHA256.HashData(bytes));
        var offer = await NextOfferAsync();
        TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(bytes.Length));

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.IntegrityCheckFailed, ex.ErrorKind);
        var error = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal("item-not-found", error.Error.Condition);
        Assert.Collection(
            server.Requests,
            first => Assert.Contains($"Range: bytes={bytes.Length}-", first, StringComparison.Ordinal),
            second => Assert.DoesNotContain("Range:", second, StringComparison.OrdinalIgnoreCase));
        Assert.Empty(Directory.GetFiles(inbox));
    }

    [Fact]
    public async Task A_part_longer_than_the_file_is_not_resumed_from_and_the_file_is_downloaded_again_from_the_start()
    {
        var source = MakeFile("long.bin", 300_000);
        var inbox = Path.Combine(_root, "in");
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();

        // Even its first 300,000 bytes being right does not make a longer part a prefix of the file. A file already under
        // the final name is someone's: it stays as it is.
        var bytes = await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken);
        var part = TransferTestKit.LeavePart(inbox, offer, [.. bytes, .. RandomNumberGenerator.GetBytes(1000)]);
        var existing = Path.Combine(inbox, "long.bin");
        await File.WriteAllTextAsync(existing, "keep me", TestContext.Current.CancellationToken);

        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(0, received.ResumedFrom);
        Assert.Equal(300_000, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Path.Combine(inbox, "long (1).bin"), received.Path);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.Equal(300_000, sent.BytesTransferred);
        Assert.Equal("keep me", await File.ReadAllTextAsync(existing, TestContext.Current.CancellationToken));
        Assert.False(File.Exists(part));
        Assert.False(File.Exists(part + ".json"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Content-Range: bytes */200000\r\n")]
    public async Task A_range_refused_without_a_file_length_that_rules_the_part_out_fails_with_a_clear_error_and_keeps_the_part(string contentRange)
    {
        var inbox = Path.Combine(_root, "in");
        await using var server = new RawHttpServer(_ => Http($"416 Range Not Satisfiable\r\n{contentRange}Content-Length: 0", []));
        var answer = OfferUrl($"http://127.0.0.1:{server.Port}/f/kept.bin", RandomNumberGenerator.GetBytes(32));
        var offer = await NextOfferAsync();
        var bytes = RandomNumberGenerator.GetBytes(50_000);
        var part = TransferTestKit.LeavePart(inbox, offer, bytes);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        Assert.Contains("HTTP 416", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the 50000 bytes already here are kept", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Contains("Range: bytes=50000-", Assert.Single(server.Requests), StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
        Assert.True(File.Exists(part + ".json"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_file_larger_than_the_free_space_is_refused_before_the_download_naming_the_folder_and_bytes_and_the_part_is_kept(bool rangeHonoured)
    {
        // A petabyte: more than the free space of any machine the tests run on.
        const long Announced = 1L << 50;
        const int Held = 50_000;
        var inbox = Path.Combine(_root, "in");
        await using var server = new RawHttpServer(_ => rangeHonoured
            ? Http($"206 Partial Content\r\nContent-Range: bytes {Held}-{Announced - 1}/{Announced}\r\nContent-Length: {Announced - Held}", [])
            : Http($"200 OK\r\nContent-Length: {Announced}", []));
        var answer = OfferUrl($"http://127.0.0.1:{server.Port}/f/huge.bin", RandomNumberGenerator.GetBytes(32));
        var offer = await NextOfferAsync();
        var bytes = RandomNumberGenerator.GetBytes(Held);
        var part = TransferTestKit.LeavePart(inbox, offer, bytes);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Refused, ex.ErrorKind);
        var needed = rangeHonoured ? Announced - Held : Announced;
        Assert.Equal($"Not enough free space in {inbox} for {needed} bytes.", ex.Message);
        var error = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal("not-acceptable", error.Error.Condition);
        Assert.Contains($"Range: bytes={Held}-", Assert.Single(server.Requests), StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
        Assert.True(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_disk_that_holds_the_file_only_in_place_of_the_part_it_overwrites_downloads_it()
    {
        var source = MakeFile("tight.bin", 300_000);
        var inbox = Path.Combine(_root, "in");
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        var offer = await NextOfferAsync();
        var part = TransferTestKit.LeavePart(inbox, offer, RandomNumberGenerator.GetBytes(301_000));

        // The part is longer than the file: the server refuses its range (416) and the file comes from 0 over the part,
        // whose blocks are then freed. Free space short of the file by exactly those blocks is enough.
        var held = await TransferTestKit.AllocatedBytesAsync(part, s_cap);
        _bobFreeSpace = _ => 300_000 - held;
        var received = await offer.AcceptAsync(inbox).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Equal(0, received.ResumedFrom);
        Assert.Equal(300_000, received.BytesTransferred);
        Assert.True(received.Verified);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
        Assert.False(File.Exists(part));
    }

    [Fact]
    public async Task A_disk_one_byte_short_of_the_file_even_in_place_of_the_part_refuses_the_download_and_keeps_the_part()
    {
        const int Size = 200_000;
        var bytes = RandomNumberGenerator.GetBytes(Size);
        var inbox = Path.Combine(_root, "in");

        // The server ignores the range and sends the whole file, which would overwrite the part from byte 0.
        await using var server = new RawHttpServer(_ => Http($"200 OK\r\nContent-Length: {Size}", bytes));
        var answer = OfferUrl($"http://127.0.0.1:{server.Port}/f/short.bin", SHA256.HashData(bytes));
        var offer = await NextOfferAsync();
        var held = RandomNumberGenerator.GetBytes(50_000);
        var part = TransferTestKit.LeavePart(inbox, offer, held);
        var allocated = await TransferTestKit.AllocatedBytesAsync(part, s_cap);
        _bobFreeSpace = _ => Size - allocated - 1;

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Refused, ex.ErrorKind);
        Assert.Equal($"Not enough free space in {inbox} for {Size} bytes.", ex.Message);
        var error = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal("not-acceptable", error.Error.Condition);
        Assert.Contains("Range: bytes=50000-", Assert.Single(server.Requests), StringComparison.Ordinal);
        Assert.Equal(held, await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
        Assert.True(File.Exists(part + ".json"));
    }

    [Fact]
    public async Task A_failed_download_frees_the_space_preallocated_for_the_announced_size()
    {
        const long Announced = 64L * 1024 * 1024;
        const int Sent = 1024 * 1024 + 12_345;
        var inbox = Path.Combine(_root, "in");
        var part = Path.Combine(inbox, "big.bin.part");
        var hangUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new RawHttpServer(async (_, stream, stop) =>
        {
            await stream.WriteAsync(Http($"200 OK\r\nContent-Length: {Announced}", RandomNumberGenerator.GetBytes(Sent)), stop);
            await hangUp.Task.WaitAsync(stop);
        });
        var answer = OfferUrl($"http://127.0.0.1:{server.Port}/f/big.bin");
        var offer = await NextOfferAsync();
        var firstBuffer = new FirstReport();
        var receive = offer.AcceptAsync(inbox, progress: firstBuffer);

        // While the download runs, the part holds the whole announced size (its length stays what was written).
        await firstBuffer.Reported.WaitAsync(s_cap);
        Assert.InRange(await TransferTestKit.AllocatedBytesAsync(part, s_cap), Announced, long.MaxValue);

        hangUp.SetResult();
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, ex.ErrorKind);
        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        var length = new FileInfo(part).Length;
        Assert.Equal(Sent, length);
        Assert.InRange(await TransferTestKit.AllocatedBytesAsync(part, s_cap), 0, length + 64 * 1024);
    }

    [Fact]
    public async Task A_body_longer_than_its_announced_length_is_refused_and_its_data_discarded()
    {
        // A chunked body beside a Content-Length: HttpClient reports the length and hands over every chunk.
        var body = RandomNumberGenerator.GetBytes(150_000);
        var chunked = Encoding.ASCII.GetBytes($"{body.Length:x}\r\n").Concat(body).Concat(Encoding.ASCII.GetBytes("\r\n0\r\n\r\n")).ToArray();
        await using var liar = new RawHttpServer(_ => Http("200 OK\r\nContent-Length: 100000\r\nTransfer-Encoding: chunked", chunked));
        var answer = OfferUrl($"http://127.0.0.1:{liar.Port}/f/long.bin");
        var offer = await NextOfferAsync();
        var inbox = Path.Combine(_root, "in");

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.IntegrityCheckFailed, ex.ErrorKind);
        Assert.Contains("sent more than the 100000 bytes it announced", ex.Message, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal("item-not-found", error.Error.Condition);
        Assert.Empty(Directory.GetFiles(inbox));
    }

    [Fact]
    public async Task A_body_of_unannounced_length_stops_at_the_download_limit()
    {
        await using var carol = await ConnectReceiverAsync("carol", s_lan with { MaxDownloadBytes = 100_000 });
        await using var endless = new RawHttpServer(_ => Http("200 OK", RandomNumberGenerator.GetBytes(300_000)));
        var answer = OfferUrl($"http://127.0.0.1:{endless.Port}/f/endless.bin", to: carol.BoundJid);
        var offer = await TransferTestKit.NextOfferAsync(carol.GetExtension<FileTransferManager>()!, s_cap);
        var inbox = Path.Combine(_root, "carol");

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("larger than the limit of 100000 bytes", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal(100_000, new FileInfo(Path.Combine(inbox, "endless.bin.part")).Length);
    }

    [Fact]
    public async Task A_server_that_goes_silent_mid_body_is_given_up_after_the_inactivity_timeout_with_every_byte_kept()
    {
        await using var carol = await ConnectReceiverAsync("carol", s_lan with { InactivityTimeout = TimeSpan.FromSeconds(1) });
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silent = new RawHttpServer(async (_, stream, stop) =>
        {
            // Then it holds the connection open without a byte more until the test ends.
            await stream.WriteAsync(Http("200 OK\r\nContent-Length: 500000", RandomNumberGenerator.GetBytes(70_000)), stop);
            await never.Task.WaitAsync(stop);
        });
        var answer = OfferUrl($"http://127.0.0.1:{silent.Port}/f/silent.bin", to: carol.BoundJid);
        var offer = await TransferTestKit.NextOfferAsync(carol.GetExtension<FileTransferManager>()!, s_cap);
        var inbox = Path.Combine(_root, "carol");

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Timeout, ex.ErrorKind);
        Assert.Contains("stalled for 1 s after 70000 bytes", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => answer.WaitAsync(s_cap));
        Assert.Equal(70_000, new FileInfo(Path.Combine(inbox, "silent.bin.part")).Length);
    }

    [Fact]
    public async Task Links_in_messages_are_reported_and_can_be_downloaded()
    {
        var source = MakeFile("shared.txt", 1234);
        await using var server = new RawHttpServer(_ => [.. Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n"), .. File.ReadAllBytes(source)]);
        var url = $"http://127.0.0.1:{server.Port}/upload/shared.txt";
        var link = await ShareLinkAsync(url);

        Assert.Equal(url, link.Url.ToString());
        var received = await _bobFiles.DownloadLinkAsync(link, Path.Combine(_root, "links")).WaitAsync(s_cap);
        Assert.Equal(Sha256(source), Sha256(received.Path!));
    }

    [Fact]
    public async Task A_disk_error_while_downloading_a_link_surfaces_as_a_local_io_failure()
    {
        await using var server = new RawHttpServer(_ => Http("200 OK\r\nContent-Length: 1234", RandomNumberGenerator.GetBytes(1234)));
        var link = await ShareLinkAsync($"http://127.0.0.1:{server.Port}/upload/blocked.txt");

        // The folder can be made, and the part opened; the part's metadata, written next, finds a folder in its place.
        var folder = Path.Combine(_root, "links");
        Directory.CreateDirectory(Path.Combine(folder, "blocked.txt.part.json"));
        var ex = await Assert.ThrowsAsync<FileTransferException>(() => _bobFiles.DownloadLinkAsync(link, folder).WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.LocalIo, ex.ErrorKind);
        Assert.True(ex.InnerException is IOException or UnauthorizedAccessException, ex.InnerException?.ToString());
        Assert.Contains($"Receiving blocked.txt into {folder} failed", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "blocked.txt")));
    }

    /// <summary>Alice shares <paramref name="url"/> in a message (jabber:x:oob); the link as Bob's manager reports it.</summary>
    private async Task<OobLink> ShareLinkAsync(string url)
    {
        await _alice.SendAsync(new XElement(
            Stanza.Message,
            new XAttribute("to", _bob.BoundJid.ToString()),
            new XElement(XName.Get("body", Namespaces.Client), url),
            new XElement(XName.Get("x", Namespaces.OobX), new XElement(XName.Get("url", Namespaces.OobX), url)))).AsTask().WaitAsync(s_cap);

        using var timeout = new CancellationTokenSource(s_cap);
        await foreach (var link in _bobFiles.ReceiveLinksAsync(timeout.Token))
        {
            return link;
        }

        throw new InvalidOperationException("The links ended.");
    }

    private Task<XElement> OfferUrl(string url, byte[]? sha256 = null, Jid? to = null) =>
        _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, to ?? _bob.BoundJid, new OobQuery(new Uri(url), null, null, sha256).ToXml()), TimeSpan.FromSeconds(50));

    private Task<XmppClient> ConnectReceiverAsync(string user, OobOptions oob) =>
        _router.ConnectAsync(user, c => c.AddExtension(new FileTransferManager(new FileTransferOptions { Oob = oob })));

    /// <summary>An HTTP/1.1 response: the status line and headers (<c>Connection: close</c> added), then the body bytes.</summary>
    private static byte[] Http(string statusAndHeaders, ReadOnlySpan<byte> body) =>
        [.. Encoding.ASCII.GetBytes($"HTTP/1.1 {statusAndHeaders}\r\nConnection: close\r\n\r\n"), .. body];

    private Task<IncomingFileOffer> NextOfferAsync() => TransferTestKit.NextOfferAsync(_bobFiles, s_cap);

    private string MakeFile(string name, int size) => TransferTestKit.MakeFile(_root, name, size);

    private static string Sha256(string path) => TransferTestKit.Sha256(path);

    /// <summary>Completes on the first progress report (the first receive buffer handed to the writer).</summary>
    private sealed class FirstReport : IProgress<FileTransferProgress>
    {
        private readonly TaskCompletionSource _reported = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reported => _reported.Task;

        public void Report(FileTransferProgress value) => _reported.TrySetResult();
    }

    /// <summary>
    /// A one-connection-at-a-time HTTP responder: reads each request's head, then answers with canned bytes (or a handler
    /// that writes what it likes and may hold the connection until the server is disposed) and closes.
    /// </summary>
    private sealed class RawHttpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _requests = new();
        private readonly Task _loop;

        public RawHttpServer(string response)
            : this(_ => Encoding.Latin1.GetBytes(response))
        {
        }

        public RawHttpServer(Func<string, byte[]> respond)
            : this((request, stream, stop) => stream.WriteAsync(respond(request), stop).AsTask())
        {
        }

        public RawHttpServer(Func<string, NetworkStream, CancellationToken, Task> serve)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    var request = new StringBuilder();
                    while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer, _stop.Token);
                        if (n == 0)
                        {
                            break;
                        }

                        request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }

                    _requests.Enqueue(request.ToString());
                    await serve(request.ToString(), stream, _stop.Token);
                    client.Client.Shutdown(SocketShutdown.Both);
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>The head of every request served so far, in order.</summary>
        public IReadOnlyCollection<string> Requests => _requests;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
            _listener.Dispose();
            _stop.Dispose();
        }
    }
}
