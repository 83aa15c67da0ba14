using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Proxy;
using XmppTransfer.Testing;
using XmppTransfer.Testing.Prosody;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.Proxy;

/// <summary>
/// Our proxy attached to a real Prosody 0.12 as an external component. Each test starts its own Prosody without
/// mod_proxy65, so slixmpp (which offers only proxies it discovers) has to pick ours.
/// </summary>
public sealed class ProxyComponentTests : IDisposable
{
    private const string Password = "proxy-interop-password";
    private const int FileSize = 8 * 1024 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static readonly ProsodyComponent s_component = new("proxy.example.test", "proxy-component-test-secret");

    private readonly string _folder = TestFiles.CreateTempDirectory("xmpptransfer-proxy-interop-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Our_proxy_shows_in_disco_and_relays_slixmpp_to_slixmpp_while_abuse_beside_it_is_refused()
    {
        InteropGate.SkipUnlessEnabled();
        await using ProsodyServer server = await StartProsodyAsync();
        await using Socks5Proxy proxy = new(Socks5ProxyOptions.Default with { ListenEndpoints = [new IPEndPoint(IPAddress.Loopback, 0)] });
        await proxy.StartAsync(Ct);
        BytestreamProxyExtension service = new(proxy);
        await using XmppComponent component = new(new XmppComponentOptions
        {
            Jid = Jid.Parse(s_component.Name),
            Secret = s_component.Secret,
            Host = server.Host,
            Port = server.ComponentPort!.Value,
        });
        component.AddExtension(service);
        await component.ConnectAsync(Ct).WaitAsync(s_timeout, Ct);
        await using XmppClient carol = new(ClientOptions(server, "carol"));
        await carol.ConnectAsync(Ct).WaitAsync(s_timeout, Ct);

        // Discovery as slixmpp does it: disco#items of the domain, then disco#info of each item.
        IReadOnlyList<DiscoItem> items = await carol.Disco.GetItemsAsync(Jid.Parse(server.Domain), cancellationToken: Ct).WaitAsync(s_timeout, Ct);
        Assert.Contains(items, i => i.Jid.ToString() == s_component.Name);
        DiscoInfo info = await carol.Disco.GetInfoAsync(Jid.Parse(s_component.Name), cancellationToken: Ct).WaitAsync(s_timeout, Ct);
        Assert.Contains(info.Identities, i => i is { Category: "proxy", Type: "bytestreams" });
        Assert.Contains(Namespaces.Bytestreams, info.Features);
        XElement address = await carol.SendIqAsync(
            Stanza.MakeIq(IqType.Get, Jid.Parse(s_component.Name), new XElement(XName.Get("query", Namespaces.Bytestreams))), cancellationToken: Ct)
            .WaitAsync(s_timeout, Ct);
        XElement streamHost = address.Descendants(XName.Get("streamhost", Namespaces.Bytestreams)).Single();
        Assert.Equal(proxy.LocalEndpoints[0].Port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)streamHost.Attribute("port"));

        // Abuse beside an honest transfer: garbage handshakes, slow handshakes, activations of streams that are not
        // carol's (the hash includes the stanza's from, so they cannot match) and of made-up ones.
        string inbox = Directory.CreateDirectory(Path.Combine(_folder, "inbox")).FullName;
        string file = Path.Combine(_folder, "s5b.bin");
        string sha256 = await TestFiles.CreateRandomAsync(file, FileSize, Ct);
        await using SlixmppPeer receiver = SlixmppPeer.StartReceiver(SlixmppPeerOptions.For(server, "bob", Password), inbox, count: 1);
        string bobJid = await receiver.WaitReadyAsync(s_timeout, Ct);
        using CancellationTokenSource abuseStop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task<int> abuse = AbuseAsync(proxy.LocalEndpoints[0], carol, bobJid, abuseStop.Token);
        await using SlixmppPeer sender = SlixmppPeer.StartSender(SlixmppPeerOptions.For(server, "alice", Password), bobJid, file,
            new SlixmppSendOptions { Method = SlixmppTransferMethod.S5b });

        JsonElement received = await receiver.WaitForEventAsync("received", s_timeout, Ct);
        await sender.WaitForEventAsync("sent", s_timeout, Ct);
        await abuseStop.CancelAsync();
        int refusedActivations = await abuse.WaitAsync(s_timeout, Ct);

        Assert.Equal("s5b", received.GetProperty("method").GetString());
        Assert.Equal(FileSize, received.GetProperty("bytes").GetInt64());
        Assert.Equal(sha256, received.GetProperty("sha256").GetString());
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.GetProperty("file").GetString()!, Ct));
        Assert.Equal(1, proxy.Metrics.Activations);
        Assert.True(proxy.Metrics.BytesRelayed >= FileSize, $"relayed {proxy.Metrics.BytesRelayed}");
        Assert.True(refusedActivations > 0);
        // The last attempt may have been refused after the abuse loop stopped waiting for its answer.
        Assert.InRange(proxy.Metrics.GetActivationRefusals(ProxyActivationRefusal.NotFound), refusedActivations, refusedActivations + 1);
        Assert.True(proxy.Metrics.HandshakeFailures > 0);
    }

    [Fact]
    public async Task Xft_proxy_process_attaches_serves_metrics_reconnects_after_a_Prosody_restart_and_exits_cleanly_on_SIGTERM()
    {
        InteropGate.SkipUnlessEnabled();
        ProsodyServer first = await StartProsodyAsync();
        int componentPort = first.ComponentPort!.Value;
        await using XftProcess xft = XftProcess.Start(
            ["proxy", "--component-jid", s_component.Name, "--server", $"127.0.0.1:{componentPort}", "--listen", "127.0.0.1:0",
             "--public-host", "127.0.0.1", "--metrics", "127.0.0.1:0", "--json"],
            new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = s_component.Secret, ["XFT_Proxy__ReconnectMaxDelay"] = "1" });
        try
        {
            JsonElement listening = await xft.WaitForEventAsync("listening", s_timeout);
            await xft.WaitForEventAsync("connected", s_timeout);
            IPEndPoint metrics = IPEndPoint.Parse(listening.GetProperty("metrics").GetString()!);
            string text = await GetMetricsAsync(metrics);
            Assert.Contains("xmpptransfer_proxy_component_connected 1\n", text, StringComparison.Ordinal);
            Assert.Contains("# TYPE xmpptransfer_proxy_activations_total counter\n", text, StringComparison.Ordinal);

            // Disco through the server proves the attachment from a user's point of view.
            await using (XmppClient carol = new(ClientOptions(first, "carol")))
            {
                await carol.ConnectAsync(Ct).WaitAsync(s_timeout, Ct);
                DiscoInfo info = await carol.Disco.GetInfoAsync(Jid.Parse(s_component.Name), cancellationToken: Ct).WaitAsync(s_timeout, Ct);
                Assert.Contains(info.Identities, i => i.Category == "proxy");
            }

            await first.DisposeAsync();
            await xft.WaitForEventAsync("disconnected", s_timeout);
            // Prosody stopping is the server going away (its stream error by name, or a closed connection), not XML of
            // ours to call malformed.
            await xft.WaitForStderrAsync("Connection to the XMPP server failed or ended:", s_timeout);
            Assert.DoesNotContain("not-well-formed", xft.StandardError, StringComparison.Ordinal);
            await using ProsodyServer second = await StartProsodyAsync(componentPort);
            await xft.WaitForEventAsync("connected", s_timeout);
            Assert.Contains("xmpptransfer_proxy_component_connected 1\n", await GetMetricsAsync(metrics), StringComparison.Ordinal);

            await xft.TerminateAsync();
            await xft.WaitForEventAsync("stopped", s_timeout);
            Assert.Equal(0, await xft.WaitForExitAsync(s_timeout));
            Assert.DoesNotContain(s_component.Secret, xft.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task Xft_proxy_with_a_component_name_Prosody_does_not_know_exits_1_naming_host_unknown()
    {
        InteropGate.SkipUnlessEnabled();
        await using ProsodyServer server = await StartProsodyAsync();
        await using XftProcess xft = XftProcess.Start(
            ["proxy", "--component-jid", "nothere.example.test", "--server", $"127.0.0.1:{server.ComponentPort!.Value}", "--listen", "127.0.0.1:0",
             "--public-host", "127.0.0.1", "--json"],
            new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = s_component.Secret });

        Assert.Equal(1, await xft.WaitForExitAsync(s_timeout));
        Assert.Contains(
            "The XMPP server refused the component at start-up (not retrying, exit code 1): The server refused component nothere.example.test: host-unknown",
            xft.StandardError,
            StringComparison.Ordinal);
        Assert.DoesNotContain("has no id", xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Reconnecting", xft.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xft_proxy_with_a_wrong_secret_for_Prosody_exits_1_naming_not_authorized()
    {
        InteropGate.SkipUnlessEnabled();
        await using ProsodyServer server = await StartProsodyAsync();
        await using XftProcess xft = XftProcess.Start(
            ["proxy", "--component-jid", s_component.Name, "--server", $"127.0.0.1:{server.ComponentPort!.Value}", "--listen", "127.0.0.1:0",
             "--public-host", "127.0.0.1", "--json"],
            new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = "not-the-secret" });

        Assert.Equal(1, await xft.WaitForExitAsync(s_timeout));
        Assert.Contains($"The server refused component {s_component.Name}: not-authorized", xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", xft.StandardError, StringComparison.Ordinal);
    }

    public void Dispose() => TestFiles.DeleteDirectoryQuietly(_folder);

    private static async Task<ProsodyServer> StartProsodyAsync(int? componentPort = null)
    {
        ProsodyServer server = await ProsodyServer.StartAsync(
            ProsodyServerOptions.Default with { Tls = false, Proxy65 = false, Components = [s_component], ComponentPort = componentPort }, Ct)
            .WaitAsync(s_timeout, Ct);
        if (componentPort is null)
        {
            foreach (string user in new[] { "alice", "bob", "carol" })
            {
                await server.RegisterAsync(user, Password, Ct).WaitAsync(s_timeout, Ct);
            }
        }

        return server;
    }

    private static async Task<string> GetMetricsAsync(IPEndPoint endPoint)
    {
        using HttpClient http = new() { Timeout = s_timeout };
        return await http.GetStringAsync(new Uri($"http://{endPoint}/metrics"), Ct).WaitAsync(s_timeout, Ct);
    }

    private static XmppClientOptions ClientOptions(ProsodyServer server, string user) => new()
    {
        Jid = Jid.Parse($"{user}@{server.Domain}"),
        Password = Password,
        Host = server.Host,
        Port = server.C2sPort,
        Tls = TlsMode.Off,
        AllowPlainWithoutTls = true,
    };

    /// <summary>Keeps abusing until stopped; returns how many activations were refused with item-not-found.</summary>
    private static async Task<int> AbuseAsync(IPEndPoint proxy, XmppClient carol, string bobJid, CancellationToken cancellationToken)
    {
        int refused = 0;
        int round = 0;
        Jid proxyJid = Jid.Parse(s_component.Name);
        while (!cancellationToken.IsCancellationRequested)
        {
            round++;
            using (Socket garbage = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                try
                {
                    await garbage.ConnectAsync(proxy, cancellationToken);
                    await garbage.SendAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), SocketFlags.None, cancellationToken);
                    byte[] sink = new byte[64];
                    while (await garbage.ReceiveAsync(sink, SocketFlags.None, cancellationToken) > 0)
                    {
                    }
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                }
            }

            XElement query = new(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", "abuse-" + round),
                new XElement(XName.Get("activate", Namespaces.Bytestreams), bobJid));
            try
            {
                await carol.SendIqAsync(Stanza.MakeIq(IqType.Set, proxyJid, query), cancellationToken: cancellationToken);
            }
            catch (XmppStanzaErrorException ex) when (ex.Error.Condition == "item-not-found")
            {
                refused++;
            }
            catch (OperationCanceledException)
            {
            }
        }

        return refused;
    }
}
