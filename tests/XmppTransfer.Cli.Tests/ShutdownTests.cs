using System.Net;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.Server;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// <c>xft proxy</c> and <c>xft server</c> as real processes stopped by signals while a stream is being relayed: the first
/// SIGTERM drains (for longer than the 2 s after which System.CommandLine used to end the process), a second one ends it
/// at once.
/// </summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private const string ComponentJid = "proxy.shutdown.test";
    private const string ComponentSecret = "shutdown-component-secret";
    private const string Password = "shutdown-alice-password";
    private const int Chunk = 16 * 1024;
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    /// <summary>How long the stream keeps moving data after SIGTERM: past the 2 s that used to cut it.</summary>
    private static readonly TimeSpan s_relayAfterSignal = TimeSpan.FromSeconds(3);

    private readonly string _root = Directory.CreateTempSubdirectory("xft-shutdown-").FullName;
    private EmbeddedXmppServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await EmbeddedXmppServer.StartAsync(ServerOptions.Default with
        {
            Domain = "shutdown.test",
            DataDirectory = Path.Combine(_root, "server"),
            ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            ProxyEnabled = false,
            ComponentEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            ComponentSecrets = new Dictionary<string, string> { [ComponentJid] = ComponentSecret },
        });
        await _server.AddUserAsync("alice", Password);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        TestFiles.DeleteDirectoryQuietly(_root);
    }

    [Fact]
    public async Task Xft_proxy_given_SIGTERM_lets_an_active_stream_finish_then_prints_stopped_and_exits_0()
    {
        await using XftProcess xft = StartProxy();
        await using RelayThroughXft relay = await RelayThroughProxyAsync(xft);

        await relay.TerminateAndAwaitDrainAsync(s_cap);
        await KeepRelayingAsync(relay.Pair, s_relayAfterSignal);
        relay.Pair.Finish();

        JsonElement stopped = await relay.Xft.WaitForEventAsync("stopped", s_cap);
        Assert.Equal(0, await relay.Xft.WaitForExitAsync(s_cap));
        Assert.True(stopped.GetProperty("relayed_bytes").GetInt64() >= relay.Pair.Received, stopped.ToString());
        Assert.False(relay.Xft.StandardError.Contains("drain deadline", StringComparison.Ordinal), relay.Xft.StandardError);
    }

    [Fact]
    public async Task Xft_proxy_given_a_second_SIGTERM_while_draining_exits_at_once_with_143()
    {
        await using XftProcess xft = StartProxy();
        await using RelayThroughXft relay = await RelayThroughProxyAsync(xft);

        await relay.TerminateAndAwaitDrainAsync(s_cap);
        await relay.Xft.TerminateAsync().WaitAsync(s_cap);

        // Well within the 30 s drain the stream would otherwise be given.
        Assert.Equal(143, await relay.Xft.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("xft: terminated again, stopping at once", relay.Xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("\"stopped\"", relay.Xft.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xft_proxy_given_SIGQUIT_drains_like_SIGTERM_and_a_second_one_exits_at_once_with_131()
    {
        await using XftProcess xft = StartProxy();
        await using RelayThroughXft relay = await RelayThroughProxyAsync(xft);

        await xft.QuitAsync().WaitAsync(s_cap);
        await xft.WaitForStderrAsync("draining 1 active streams", s_cap);
        await relay.Pair.RelayAsync(Chunk);
        await xft.QuitAsync().WaitAsync(s_cap);

        // Well within the 30 s drain the stream would otherwise be given.
        Assert.Equal(131, await xft.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("xft: quit again, stopping at once", xft.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xft_server_given_SIGTERM_lets_a_stream_through_its_proxy_finish_then_exits_0()
    {
        string data = Path.Combine(_root, "xft-server");
        var add = await XftProcess.RunAsync(["server", "add-user", "alice", "--data", data],
            new Dictionary<string, string> { ["XFT_NEW_PASSWORD"] = Password }, s_cap);
        Assert.True(add.ExitCode == 0, add.Stderr);
        await using XftProcess xft = XftProcess.Start(["server", "--data", data, "--listen", "127.0.0.1:0", "--set", "Server:Proxy:Port=0"]);
        var banner = await ReadBannerAsync(xft);
        await using RelayThroughXft relay = await RelayThroughXft.OpenAsync(
            xft, AliceOptions(banner.ClientPort, banner.Certificate, "localhost"), banner.Proxy, banner.ProxyJid, Chunk, s_cap);

        await relay.TerminateAndAwaitDrainAsync(s_cap);
        await KeepRelayingAsync(relay.Pair, s_relayAfterSignal);
        relay.Pair.Finish();

        Assert.Equal(0, await relay.Xft.WaitForExitAsync(s_cap));
        Assert.False(relay.Xft.StandardError.Contains("drain deadline", StringComparison.Ordinal), relay.Xft.StandardError);
        Assert.False(relay.Xft.StandardError.Contains("unexpected", StringComparison.Ordinal), relay.Xft.StandardError);
    }

    [Fact]
    public async Task Xft_server_given_SIGTERM_cuts_a_stream_through_its_proxy_at_the_configured_drain_time()
    {
        string data = Path.Combine(_root, "xft-server-drain");
        var add = await XftProcess.RunAsync(["server", "add-user", "alice", "--data", data],
            new Dictionary<string, string> { ["XFT_NEW_PASSWORD"] = Password }, s_cap);
        Assert.True(add.ExitCode == 0, add.Stderr);
        await using XftProcess xft = XftProcess.Start(
            ["server", "--data", data, "--listen", "127.0.0.1:0", "--set", "Server:Proxy:Port=0", "--set", "Server:Proxy:DrainTimeout=1"]);
        var banner = await ReadBannerAsync(xft);
        await using RelayThroughXft relay = await RelayThroughXft.OpenAsync(
            xft, AliceOptions(banner.ClientPort, banner.Certificate, "localhost"), banner.Proxy, banner.ProxyJid, Chunk, s_cap);

        // The stream never finishes: only the 1 s drain (not the default 30 s) lets the server exit this soon.
        await xft.TerminateAsync().WaitAsync(s_cap);
        Assert.Equal(0, await xft.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("drain deadline", xft.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Moves a chunk every 100 ms for <paramref name="duration"/>: the workload that must outlive the signal. The wall clock
    /// is the condition under test here (the process used to be cut 2 s after SIGTERM, by its own real clock), not a wait
    /// for anything; each chunk is awaited to the end, so nothing races it.
    /// </summary>
    private static async Task KeepRelayingAsync(RelayedPair pair, TimeSpan duration)
    {
        DateTime until = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < until)
        {
            await pair.RelayAsync(Chunk);
            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A stream for Alice through <paramref name="xft"/>, an <c>xft proxy</c>, once it is attached to our server.</summary>
    private async Task<RelayThroughXft> RelayThroughProxyAsync(XftProcess xft)
    {
        IPEndPoint socks5 = await WaitUntilAttachedAsync(xft);
        var alice = AliceOptions(_server.ClientEndPoint.Port, _server.CertificateSha256, "shutdown.test");
        return await RelayThroughXft.OpenAsync(xft, alice, socks5, ComponentJid, Chunk, s_cap);
    }

    private XftProcess StartProxy() => XftProcess.Start(
        [
            "proxy", "--component-jid", ComponentJid, "--server", $"127.0.0.1:{_server.ComponentEndPoint!.Port}",
            "--listen", "127.0.0.1:0", "--public-host", "127.0.0.1", "--json",
        ],
        new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = ComponentSecret });

    private static async Task<IPEndPoint> WaitUntilAttachedAsync(XftProcess xft)
    {
        JsonElement listening = await xft.WaitForEventAsync("listening", s_cap);
        await xft.WaitForEventAsync("connected", s_cap);
        return IPEndPoint.Parse(listening.GetProperty("socks5")[0].GetString()!);
    }

    private static XmppClientOptions AliceOptions(int port, string certificateSha256, string domain) => new()
    {
        Jid = Jid.Create("alice", domain, "shutdown"),
        Password = Password,
        Host = "127.0.0.1",
        Port = port,
        TrustedCertificateSha256 = certificateSha256,
    };

    /// <summary>The lines <c>xft server</c> prints at start: its client port, proxy and certificate.</summary>
    private static async Task<(int ClientPort, string ProxyJid, IPEndPoint Proxy, string Certificate)> ReadBannerAsync(XftProcess xft)
    {
        int clientPort = 0;
        string? proxyJid = null;
        IPEndPoint? proxy = null;
        while (await xft.ReadLineAsync(s_cap) is { } line)
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (words)
            {
                case ["clients", var endPoint, ..]:
                    clientPort = IPEndPoint.Parse(endPoint).Port;
                    break;
                case ["proxy", var jid, "on", var endPoint, ..]:
                    (proxyJid, proxy) = (jid, IPEndPoint.Parse(endPoint));
                    break;
                case ["certificate", "SHA-256", var sha256]:
                    return (clientPort, proxyJid!, proxy!, sha256);
            }
        }

        throw new InvalidOperationException("xft server ended before printing its banner. stderr:\n" + xft.StandardError);
    }
}
