using System.Security.Cryptography;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Server.Tests;

public sealed class FileTransferThroughServerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("xft-server-ft-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_file_crosses_the_server_over_ibb_with_its_sha256_verified()
    {
        await using var harness = await ServerHarness.StartAsync();
        var aliceFiles = new FileTransferManager();
        var bobFiles = new FileTransferManager();
        var alice = await harness.ConnectAsync("alice", "a", c => c.AddExtension(aliceFiles));
        var bob = await harness.ConnectAsync("bob", "b", c => c.AddExtension(bobFiles));
        await ServerHarness.WaitForPresenceAsync(alice, bob.BoundJid);
        var source = Path.Combine(_root, "data.bin");
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(1024 * 1024 + 17));

        var send = aliceFiles.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        await using var offers = bobFiles.ReceiveOffersAsync().GetAsyncEnumerator();
        Assert.True(await offers.MoveNextAsync().AsTask().WaitAsync(ServerHarness.Cap));
        var received = await offers.Current.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(ServerHarness.Cap);
        var sent = await send.WaitAsync(ServerHarness.Cap);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.True(received.Verified);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(source))), received.Sha256);
        Assert.Equal(await File.ReadAllBytesAsync(source), await File.ReadAllBytesAsync(received.Path!));
    }

    [Theory]
    [InlineData(Namespaces.Si, "si")]
    [InlineData(Namespaces.Ibb, "open")]
    [InlineData(Namespaces.Bytestreams, "query")]
    public async Task With_file_transfer_disabled_negotiations_between_users_are_refused_with_not_allowed(string ns, string element)
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { FileTransferEnabled = false });
        var alice = await harness.ConnectAsync("alice", "a");
        var bob = await harness.ConnectAsync("bob", "b");

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => alice.SendIqAsync(Stanza.MakeIq(IqType.Set, bob.BoundJid, new XElement(XName.Get(element, ns), new XAttribute("sid", "s1")))).WaitAsync(ServerHarness.Cap));

        Assert.Equal("not-allowed", ex.Error.Condition);
    }
}
