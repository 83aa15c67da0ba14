using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.FileTransfer;

/// <summary>Out-of-Band Data (XEP-0066) between two of our clients through a real Prosody.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class OobInteropTests(ProsodyFixture fixture) : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private readonly string _folder = TestFiles.CreateTempDirectory("xft-oob-interop-");

    [Fact]
    public async Task We_send_to_ourselves_by_url_through_prosody_with_sha256_verified()
    {
        InteropGate.SkipUnlessEnabled();
        var source = Path.Combine(_folder, "url.bin");
        var sha256 = await TestFiles.CreateRandomAsync(source, 3 * 1024 * 1024 + 1);
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);

        var send = alice.GetExtension<FileTransferManager>()!.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        using var timeout = new CancellationTokenSource(s_cap);
        IncomingFileOffer? offer = null;
        await foreach (var o in bob.GetExtension<FileTransferManager>()!.ReceiveOffersAsync(timeout.Token))
        {
            offer = o;
            break;
        }

        var received = await offer!.AcceptAsync(Path.Combine(_folder, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);
        Assert.Equal(TransferMethod.Oob, sent.Method);
        Assert.True(received.Verified);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!));
    }

    [Fact]
    public async Task A_declined_url_offer_through_prosody_is_declined()
    {
        InteropGate.SkipUnlessEnabled();
        var source = Path.Combine(_folder, "no.bin");
        await TestFiles.CreateRandomAsync(source, 100);
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);
        var send = alice.GetExtension<FileTransferManager>()!.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob });
        using var timeout = new CancellationTokenSource(s_cap);
        await foreach (var o in bob.GetExtension<FileTransferManager>()!.ReceiveOffersAsync(timeout.Token))
        {
            await o.DeclineAsync();
            break;
        }

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
    }

    [Fact]
    public async Task We_offer_a_url_to_slixmpp_and_it_downloads_it()
    {
        InteropGate.SkipUnlessEnabled();
        var source = Path.Combine(_folder, "to-slix.bin");
        var sha256 = await TestFiles.CreateRandomAsync(source, 1024 * 1024 + 7);
        var inbox = Directory.CreateDirectory(Path.Combine(_folder, "slix-in")).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(fixture.PeerOptions(ProsodyFixture.Bob), inbox, count: 1);
        var bob = Jid.Parse(await receiver.WaitReadyAsync(s_cap));
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);

        var sent = await alice.GetExtension<FileTransferManager>()!.SendFileAsync(bob, source, new FileSendOptions { Method = TransferMethodPreference.Oob }).WaitAsync(s_cap);
        var received = await receiver.WaitForEventAsync("received", s_cap);

        Assert.Equal(TransferMethod.Oob, sent.Method);
        Assert.Equal("oob", received.GetProperty("method").GetString());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Slixmpp_offers_a_url_and_we_download_it()
    {
        InteropGate.SkipUnlessEnabled();
        var source = Path.Combine(_folder, "from-slix.bin");
        var sha256 = await TestFiles.CreateRandomAsync(source, 512 * 1024);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);
        using var listener = new System.Net.HttpListener();
        var port = FreePort.Next();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var bytes = await File.ReadAllBytesAsync(source);
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        });
        await using var sender = SlixmppPeer.StartUrlSender(fixture.PeerOptions(ProsodyFixture.Alice), bob.BoundJid.ToString(), new Uri($"http://127.0.0.1:{port}/files/from-slix.bin"));

        using var timeout = new CancellationTokenSource(s_cap);
        IncomingFileOffer? offer = null;
        await foreach (var o in bob.GetExtension<FileTransferManager>()!.ReceiveOffersAsync(timeout.Token))
        {
            offer = o;
            break;
        }

        Assert.Equal("from-slix.bin", offer!.SafeName);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in")).WaitAsync(s_cap);
        await serving.WaitAsync(s_cap);
        await sender.WaitForEventAsync("sent", s_cap);
        Assert.Equal(sha256, received.Sha256);
        Assert.False(received.Verified);
    }

    public void Dispose() => TestFiles.DeleteDirectoryQuietly(_folder);

    private async Task<XmppClient> ConnectAsync(string user)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Parse($"{user}@{fixture.Server.Domain}"),
            Password = ProsodyFixture.Password,
            Host = fixture.Server.Host,
            Port = fixture.Server.C2sPort,
            TrustedCertificateSha256 = fixture.Server.CertificateSha256,
        });
        client.AddExtension(new FileTransferManager(new FileTransferOptions { Oob = OobOptions.Default with { AllowPrivateNetworks = true } }));
        await client.ConnectAsync().WaitAsync(s_cap);
        return client;
    }
}
