using System.Text.Json;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>slixmpp to slixmpp through the shared Prosody: proves the peer script and the server fixture together.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class SlixmppTransferTests(ProsodyFixture fixture) : IDisposable
{
    private const int OneMiB = 1024 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly string _folder = TestFiles.CreateTempDirectory("xmpptransfer-slix-");

    [Fact]
    public async Task Slixmpp_sends_1_MiB_to_slixmpp_over_IBB_through_Prosody()
    {
        InteropGate.SkipUnlessEnabled();

        JsonElement received = await TransferAsync(new SlixmppSendOptions { Method = SlixmppTransferMethod.Ibb, BlockSize = 4096 }, "ibb");

        Assert.Equal("ibb", received.GetProperty("method").GetString());
    }

    [Fact]
    public async Task Slixmpp_sends_1_MiB_to_slixmpp_over_S5B_through_mod_proxy65()
    {
        InteropGate.SkipUnlessEnabled();

        JsonElement received = await TransferAsync(new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b }, "s5b");

        Assert.Equal("s5b", received.GetProperty("method").GetString());
    }

    [Fact]
    public async Task Disposing_a_slixmpp_peer_ends_its_python_process()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var peer = SlixmppPeer.StartReceiver(fixture.PeerOptions(ProsodyFixture.Carol), _folder);
        int pid = peer.ProcessId;
        _ = await peer.WaitReadyAsync(s_timeout, ct);

        await peer.DisposeAsync().AsTask().WaitAsync(s_timeout, ct);

        Assert.True(ProsodyServerLifecycleTests.ProcessIsGone(pid), $"python (pid {pid}) still runs after dispose.");
    }

    public void Dispose() => TestFiles.DeleteDirectoryQuietly(_folder);

    private async Task<JsonElement> TransferAsync(SlixmppSendOptions send, string name)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string inbox = Directory.CreateDirectory(Path.Combine(_folder, "inbox")).FullName;
        string file = Path.Combine(_folder, name + ".bin");
        string sha256 = await TestFiles.CreateRandomAsync(file, OneMiB, ct);

        await using var receiver = SlixmppPeer.StartReceiver(fixture.PeerOptions(ProsodyFixture.Bob), inbox, count: 1);
        string bobJid = await receiver.WaitReadyAsync(s_timeout, ct);
        await using var sender = SlixmppPeer.StartSender(fixture.PeerOptions(ProsodyFixture.Alice), bobJid, file, send);

        JsonElement sent = await sender.WaitForEventAsync("sent", s_timeout, ct);
        JsonElement received = await receiver.WaitForEventAsync("received", s_timeout, ct);

        Assert.Equal(OneMiB, sent.GetProperty("bytes").GetInt64());
        Assert.Equal(OneMiB, received.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
        string saved = received.GetProperty("file").GetString()!;
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(saved, ct));
        Assert.Equal(sent.GetProperty("sid").GetString(), received.GetProperty("sid").GetString());
        Assert.Equal(0, await sender.WaitForExitAsync(s_timeout, ct));
        Assert.Equal(0, await receiver.WaitForExitAsync(s_timeout, ct));
        return received;
    }
}
