using System.Text.Json;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.FileTransfer;

/// <summary>SI file transfer over IBB through a real Prosody: us to us, us to slixmpp and slixmpp to us.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class IbbInteropTests(ProsodyFixture fixture) : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(120);
    private readonly string _folder = TestFiles.CreateTempDirectory("xft-ibb-interop-");

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(5 * 1024 * 1024 + 3)]
    public async Task We_send_to_ourselves_over_ibb_through_prosody(int size)
    {
        InteropGate.SkipUnlessEnabled();
        var (source, sha256) = await MakeFileAsync("us-us.bin", size);
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);
        var aliceFiles = alice.GetExtension<FileTransferManager>()!;
        var bobFiles = bob.GetExtension<FileTransferManager>()!;

        var send = aliceFiles.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await NextOfferAsync(bobFiles);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(sha256, received.Sha256);
        Assert.True(received.Verified);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4097)]
    [InlineData(3 * 1024 * 1024)]
    public async Task We_send_to_slixmpp_over_ibb(int size)
    {
        InteropGate.SkipUnlessEnabled();
        var (source, sha256) = await MakeFileAsync("us-slix.bin", size);
        var inbox = Directory.CreateDirectory(Path.Combine(_folder, "slix-in")).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(fixture.PeerOptions(ProsodyFixture.Bob), inbox, count: 1);
        var bobJid = Jid.Parse(await receiver.WaitReadyAsync(s_cap));
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);

        var sent = await alice.GetExtension<FileTransferManager>()!.SendFileAsync(bobJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb }).WaitAsync(s_cap);
        var received = await receiver.WaitForEventAsync("received", s_cap);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(size, received.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
    }

    [Theory]
    [InlineData(1, 4096, 1)]
    [InlineData(4097, 4096, 1)]
    [InlineData(2 * 1024 * 1024, 4096, 8)]
    public async Task Slixmpp_sends_to_us_over_ibb(int size, int blockSize, int window)
    {
        InteropGate.SkipUnlessEnabled();
        var (source, sha256) = await MakeFileAsync("slix-us.bin", size);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);
        await using var sender = SlixmppPeer.StartSender(
            fixture.PeerOptions(ProsodyFixture.Alice), bob.BoundJid.ToString(), source, new SlixmppSendOptions { Method = SlixmppTransferMethod.Ibb, BlockSize = blockSize, Window = window });

        var offer = await NextOfferAsync(bob.GetExtension<FileTransferManager>()!);
        Assert.Equal("slix-us.bin", offer.File.Name);
        var received = await offer.AcceptAsync(Path.Combine(_folder, "in")).WaitAsync(s_cap);
        JsonElement sent = await sender.WaitForEventAsync("sent", s_cap);

        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(size, sent.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.Sha256);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!));
    }

    [Fact]
    public async Task A_declined_offer_reaches_the_sender_as_declined()
    {
        InteropGate.SkipUnlessEnabled();
        var (source, _) = await MakeFileAsync("declined.bin", 100);
        await using var alice = await ConnectAsync(ProsodyFixture.Alice);
        await using var bob = await ConnectAsync(ProsodyFixture.Bob);
        var send = alice.GetExtension<FileTransferManager>()!.SendFileAsync(bob.BoundJid, source);
        var offer = await NextOfferAsync(bob.GetExtension<FileTransferManager>()!);
        await offer.DeclineAsync();

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, ex.ErrorKind);
    }

    [Fact]
    public async Task A_transfer_cut_by_a_dropped_sender_resumes_and_sends_only_the_rest()
    {
        InteropGate.SkipUnlessEnabled();
        var size = 4 * 1024 * 1024;
        var (source, sha256) = await MakeFileAsync("resume.bin", size);
        var inbox = Path.Combine(_folder, "in");
        // A sender that vanishes sends no close; the receiver notices by the inactivity timeout.
        await using var bob = await ConnectAsync(ProsodyFixture.Bob, InBandBytestreamOptions.Default with { InactivityTimeout = TimeSpan.FromSeconds(3) });
        var bobFiles = bob.GetExtension<FileTransferManager>()!;

        // The sender's connection dies at a random point of the first attempt.
        var cutAt = Random.Shared.Next(256 * 1024, size - 256 * 1024);
        // Small copy buffers make progress fine-grained, so the cut lands before the last block is sent.
        var alice = await ConnectAsync(ProsodyFixture.Alice, copyBufferSize: 16 * 1024);
        var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var dropped = new ManualResetEventSlim();
        var first = alice.GetExtension<FileTransferManager>()!.SendFileAsync(
            bob.BoundJid,
            source,
            new FileSendOptions { Method = TransferMethodPreference.Ibb, Ibb = InBandBytestreamOptions.Default with { Window = 4 } },
            new SyncProgress(p =>
            {
                if (p.BytesTransferred >= cutAt && cut.TrySetResult())
                {
                    // Progress is reported on the sender's copy loop: holding it here stops the sending until the
                    // connection is gone, so the cut really lands before the end of the file.
                    dropped.Wait(s_cap);
                }
            }));
        var offer = await NextOfferAsync(bobFiles);
        var receiving = offer.AcceptAsync(inbox, new FileReceiveOptions(), null);
        await cut.Task.WaitAsync(s_cap);
        await alice.DisposeAsync();
        dropped.Set();
        await Assert.ThrowsAnyAsync<Exception>(() => first.WaitAsync(s_cap));
        await Assert.ThrowsAsync<FileTransferException>(() => receiving.WaitAsync(s_cap));
        var partial = new FileInfo(Path.Combine(inbox, "resume.bin.part")).Length;
        Assert.InRange(partial, 1, size - 1);

        await using var again = await ConnectAsync(ProsodyFixture.Alice);
        var second = again.GetExtension<FileTransferManager>()!.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var retry = await NextOfferAsync(bobFiles);
        var received = await retry.AcceptAsync(inbox).WaitAsync(s_cap);
        var sent = await second.WaitAsync(s_cap);

        Assert.Equal(partial, sent.ResumedFrom);
        Assert.Equal(size - partial, sent.BytesTransferred);
        Assert.Equal(sha256, received.Sha256);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!));
    }

    public void Dispose() => TestFiles.DeleteDirectoryQuietly(_folder);

    private async Task<XmppClient> ConnectAsync(string user, InBandBytestreamOptions? ibb = null, int copyBufferSize = 1024 * 1024)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Parse($"{user}@{fixture.Server.Domain}"),
            Password = ProsodyFixture.Password,
            Host = fixture.Server.Host,
            Port = fixture.Server.C2sPort,
            TrustedCertificateSha256 = fixture.Server.CertificateSha256,
        });
        // Every copied buffer reports progress (no throttling): the resume test cuts the sender from its progress callback,
        // and a throttled report could first pass the cut point only with the final, forced one, after the last block.
        client.AddExtension(new FileTransferManager(new FileTransferOptions
        {
            Ibb = ibb ?? InBandBytestreamOptions.Default,
            CopyBufferSize = copyBufferSize,
            ProgressInterval = TimeSpan.Zero,
        }));
        await client.ConnectAsync().WaitAsync(s_cap);
        return client;
    }

    private async Task<(string Path, string Sha256)> MakeFileAsync(string name, int size)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(_folder, "out")).FullName, name);
        var sha = await TestFiles.CreateRandomAsync(path, size);
        return (path, sha);
    }

    private static async Task<IncomingFileOffer> NextOfferAsync(FileTransferManager manager)
    {
        using var timeout = new CancellationTokenSource(s_cap);
        await foreach (var offer in manager.ReceiveOffersAsync(timeout.Token))
        {
            return offer;
        }

        throw new InvalidOperationException("No offer.");
    }

    private sealed class SyncProgress(Action<FileTransferProgress> report) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => report(value);
    }
}
