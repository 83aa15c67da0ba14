using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Prosody;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>Servers started by the tests themselves (not the shared fixture): plaintext, components, cleanup.</summary>
public sealed partial class ProsodyServerLifecycleTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private static readonly ProsodyServerOptions s_plaintext = ProsodyServerOptions.Default with { Tls = false, Proxy65 = false };

    [Fact]
    public async Task Disposing_the_server_stops_Prosody_and_deletes_its_folder()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        ProsodyServer server = await ProsodyServer.StartAsync(s_plaintext, ct).WaitAsync(s_timeout, ct);
        int pid = server.ProcessId;
        string folder = server.DataDirectory;
        Assert.True(File.Exists(server.ConfigPath));
        Assert.False(ProcessIsGone(pid));

        await server.DisposeAsync().AsTask().WaitAsync(s_timeout, ct);

        Assert.True(ProcessIsGone(pid), $"Prosody (pid {pid}) still runs after dispose.");
        Assert.False(Directory.Exists(folder));
        // Prosody runs in the foreground (-F), one process, so its exit closed its listeners. No connect to its old c2s
        // port to show it: once released, the port can be handed to a listener of a test running in parallel.
    }

    [Fact]
    public async Task Server_without_tls_lets_a_registered_slixmpp_account_log_in_in_plaintext()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using ProsodyServer server = await ProsodyServer.StartAsync(s_plaintext, ct).WaitAsync(s_timeout, ct);
        await server.RegisterAsync("dave", "plain-test-password", ct).WaitAsync(s_timeout, ct);
        Assert.Null(server.CertificatePath);
        Assert.Null(server.CertificateSha256);
        Assert.Null(server.ProxyJid);
        Assert.Null(server.ComponentPort);

        string output = TestFiles.CreateTempDirectory("xmpptransfer-slix-");
        try
        {
            await using var peer = SlixmppPeer.StartReceiver(SlixmppPeerOptions.For(server, "dave", "plain-test-password"), output);
            string jid = await peer.WaitReadyAsync(s_timeout, ct);

            Assert.StartsWith($"dave@{server.Domain}/", jid, StringComparison.Ordinal);
        }
        finally
        {
            TestFiles.DeleteDirectoryQuietly(output);
        }
    }

    [Fact]
    public async Task Server_accepts_the_handshake_of_a_configured_external_component()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var component = new ProsodyComponent("files.example.test", "component-test-secret");
        await using ProsodyServer server = await ProsodyServer.StartAsync(s_plaintext with { Components = [component] }, ct)
            .WaitAsync(s_timeout, ct);

        Assert.NotNull(server.ComponentPort);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.ComponentPort.Value, ct).AsTask().WaitAsync(s_timeout, ct);
        NetworkStream stream = client.GetStream();
        await RawXmpp.WriteAsync(stream,
            $"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{component.Name}'>", ct);
        string header = await RawXmpp.ReadUntilAsync(stream, text => StreamId().IsMatch(text), ct).WaitAsync(s_timeout, ct);
        string id = StreamId().Match(header).Groups[1].Value;
        Assert.NotEmpty(id);
        // XEP-0114: the handshake is hex(SHA1(stream id + secret)).
        string digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + component.Secret)));
        await RawXmpp.WriteAsync(stream, $"<handshake>{digest}</handshake>", ct);
        string answer = await RawXmpp.ReadUntilAsync(stream, "handshake", ct).WaitAsync(s_timeout, ct);

        Assert.Contains("<handshake/>", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_connected_when_Prosody_stops_learns_the_server_went_away_not_that_its_xml_was_malformed()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        ProsodyServer server = await ProsodyServer.StartAsync(s_plaintext, ct).WaitAsync(s_timeout, ct);
        try
        {
            await server.RegisterAsync("erin", "stop-test-password", ct).WaitAsync(s_timeout, ct);
            await using var client = new XmppTransfer.Core.XmppClient(new XmppTransfer.Core.XmppClientOptions
            {
                Jid = XmppTransfer.Core.Jid.Parse($"erin@{server.Domain}/stop"),
                Password = "stop-test-password",
                Host = server.Host,
                Port = server.C2sPort,
                Tls = XmppTransfer.Core.TlsMode.Off,
                AllowPlainWithoutTls = true,
            });
            await client.ConnectAsync(ct).WaitAsync(s_timeout, ct);

            await server.DisposeAsync().AsTask().WaitAsync(s_timeout, ct);

            var reason = await Assert.ThrowsAnyAsync<XmppTransfer.Core.XmppException>(() => client.Completion.WaitAsync(s_timeout, ct));
            // Prosody says system-shutdown before it closes; a server that only closed TCP would be Closed. Either way, not
            // an error of ours.
            Assert.True(
                reason is XmppTransfer.Core.XmppStreamErrorException { Condition: "system-shutdown", SentByUs: false }
                    or XmppTransfer.Core.XmppConnectionException { Kind: XmppTransfer.Core.XmppErrorKind.Closed },
                reason.ToString());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    internal static bool ProcessIsGone(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    [GeneratedRegex("""\sid=['"]([^'"]+)['"]""")]
    private static partial Regex StreamId();
}
