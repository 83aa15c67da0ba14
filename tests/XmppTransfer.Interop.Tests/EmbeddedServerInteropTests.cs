using System.Net;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Server;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests;

/// <summary>slixmpp, a third-party client, against our embedded server: TLS + SCRAM login, IBB with our client, S5B through our proxy.</summary>
public sealed class EmbeddedServerInteropTests : IAsyncLifetime
{
    private const string Domain = "example.test";
    private const string Password = "interop-password";
    private const int Size = 1024 * 1024 + 5;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    private readonly string _folder = TestFiles.CreateTempDirectory("xft-server-interop-");
    private EmbeddedXmppServer _server = null!;
    private string _caFile = null!;

    public async ValueTask InitializeAsync()
    {
        if (!InteropGate.Enabled)
        {
            return;
        }

        _server = await EmbeddedXmppServer.StartAsync(new ServerOptions
        {
            Domain = Domain,
            ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        }).WaitAsync(s_timeout);
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await _server.AddUserAsync(user, Password);
        }

        _caFile = Path.Combine(_folder, "server-cert.pem");
        await File.WriteAllTextAsync(_caFile, _server.CertificatePem);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().AsTask().WaitAsync(s_timeout);
        }

        TestFiles.DeleteDirectoryQuietly(_folder);
    }

    [Fact]
    public async Task Slixmpp_logs_in_with_tls_and_scram_and_sends_a_file_to_our_client_over_ibb()
    {
        InteropGate.SkipUnlessEnabled();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_folder, "to-ours.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, ct);
        var files = new FileTransferManager();
        await using var alice = new XmppClient(ClientOptions("alice"));
        alice.AddExtension(files);
        await alice.ConnectAsync(ct).WaitAsync(s_timeout, ct);

        await using var sender = SlixmppPeer.StartSender(PeerOptions("bob"), alice.BoundJid.ToString(), file, new SlixmppSendOptions { Method = SlixmppTransferMethod.Ibb, BlockSize = 4096, Window = 8 });
        var offers = files.ReceiveOffersAsync(ct).GetAsyncEnumerator(ct);
        Assert.True(await offers.MoveNextAsync().AsTask().WaitAsync(s_timeout, ct));
        var received = await offers.Current.AcceptAsync(Path.Combine(_folder, "inbox"), cancellationToken: ct).WaitAsync(s_timeout, ct);
        var sent = await sender.WaitForEventAsync("sent", s_timeout, ct);

        Assert.Equal(TransferMethod.Ibb, received.Method);
        Assert.Equal(Size, sent.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.Path!, ct));
        Assert.True(_server.Metrics.AuthSuccesses >= 2);
    }

    [Fact]
    public async Task Our_client_sends_a_file_to_slixmpp_over_ibb_through_our_server()
    {
        InteropGate.SkipUnlessEnabled();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_folder, "to-slix.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, ct);
        var inbox = Directory.CreateDirectory(Path.Combine(_folder, "slix-inbox")).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(PeerOptions("bob"), inbox, count: 1);
        var bobJid = Jid.Parse(await receiver.WaitReadyAsync(s_timeout, ct));
        var files = new FileTransferManager();
        await using var alice = new XmppClient(ClientOptions("alice"));
        alice.AddExtension(files);
        await alice.ConnectAsync(ct).WaitAsync(s_timeout, ct);

        var sent = await files.SendFileAsync(bobJid, file, new FileSendOptions { Method = TransferMethodPreference.Ibb }, cancellationToken: ct).WaitAsync(s_timeout, ct);
        JsonElement received = await receiver.WaitForEventAsync("received", s_timeout, ct);

        Assert.Equal(TransferMethod.Ibb, sent.Method);
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Slixmpp_sends_to_slixmpp_over_s5b_through_our_built_in_proxy()
    {
        InteropGate.SkipUnlessEnabled();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_folder, "s5b.bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, Size, ct);
        var inbox = Directory.CreateDirectory(Path.Combine(_folder, "s5b-inbox")).FullName;
        await using var receiver = SlixmppPeer.StartReceiver(PeerOptions("bob"), inbox, count: 1);
        var bobJid = await receiver.WaitReadyAsync(s_timeout, ct);
        await using var sender = SlixmppPeer.StartSender(PeerOptions("carol"), bobJid, file, new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b });

        JsonElement sent = await sender.WaitForEventAsync("sent", s_timeout, ct);
        JsonElement received = await receiver.WaitForEventAsync("received", s_timeout, ct);

        Assert.Equal("s5b", received.GetProperty("method").GetString());
        Assert.Equal(Size, sent.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.GetProperty("file").GetString()!, ct));
        Assert.Equal(1, _server.ProxyMetrics!.Activations);
    }

    private XmppClientOptions ClientOptions(string user) => new()
    {
        Jid = Jid.Create(user, Domain, "ours"),
        Password = Password,
        Host = "127.0.0.1",
        Port = _server.ClientEndPoint.Port,
        TrustedCertificateSha256 = _server.CertificateSha256,
    };

    private SlixmppPeerOptions PeerOptions(string user) => new()
    {
        Host = "127.0.0.1",
        Port = _server.ClientEndPoint.Port,
        Jid = $"{user}@{Domain}",
        Password = Password,
        Tls = true,
        CaFile = _caFile,
    };
}
