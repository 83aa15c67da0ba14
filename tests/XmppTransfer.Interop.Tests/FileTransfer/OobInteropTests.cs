using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing;

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
