using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Server;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// xft receive (and send) when the server connection ends under them: one line naming the cause and exit 1, never a silent
/// wait. Tests that stop a server start their own; the shared one serves the others.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class LostConnectionTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(90);

    /// <summary>A server of this test's own (alice and bob, the shared passwords), which it may stop.</summary>
    private static async Task<EmbeddedXmppServer> StartOwnServerAsync(string root)
    {
        var server = await EmbeddedXmppServer.StartAsync(ServerOptions.Default with
        {
            Domain = "cli.test",
            DataDirectory = Path.Combine(root, "server"),
            ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        });
        await server.AddUserAsync("alice", CliServerFixture.AlicePassword);
        await server.AddUserAsync("bob", CliServerFixture.BobPassword);
        return server;
    }

    private static string[] Connection(EmbeddedXmppServer server, string user, string resource) =>
    [
        "--jid", $"{user}@cli.test/{resource}",
        "--server", $"127.0.0.1:{server.ClientEndPoint.Port}",
        "--trust-cert-sha256", server.CertificateSha256,
    ];

    [Fact]
    public async Task A_waiting_receiver_whose_server_shuts_down_exits_1_naming_system_shutdown()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                await using var receiver = XftProcess.Start(
                    ["receive", .. Connection(server, "bob", "idle"), "--out", Path.Combine(root, "in")],
                    CliServerFixture.Password(CliServerFixture.BobPassword));
                await receiver.WaitForStderrAsync("waiting for files", s_cap);

                await server.StopAsync().WaitAsync(s_cap);

                Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
                Assert.Contains("xft: lost the connection to the server: system-shutdown", receiver.StandardError, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_receiver_replaced_by_a_second_login_with_the_same_resource_exits_1_naming_the_conflict()
    {
        var resource = "q" + Guid.NewGuid().ToString("N")[..8];
        await using var first = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource + "-1")],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await first.WaitForStderrAsync("waiting for files", s_cap);

        await using var second = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource + "-2")],
            CliServerFixture.Password(CliServerFixture.BobPassword));

        Assert.Equal(1, await first.WaitForExitAsync(s_cap));
        Assert.Contains("replaced this one (conflict)", first.StandardError, StringComparison.Ordinal);
        await second.WaitForStderrAsync("waiting for files", s_cap);
    }

    [Fact]
    public async Task A_server_that_stops_mid_transfer_fails_the_file_with_an_error_line_keeps_the_part_and_exits_1_on_both_sides()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            var inbox = Path.Combine(root, "in");
            var file = Path.Combine(root, "big.bin");
            await TestFiles.CreateRandomAsync(file, 64L * 1024 * 1024);
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                await using var receiver = XftProcess.Start(
                    ["receive", .. Connection(server, "bob", "mid"), "--out", inbox, "--json"],
                    CliServerFixture.Password(CliServerFixture.BobPassword));
                await receiver.WaitForStderrAsync("waiting for files", s_cap);

                // Stop-and-wait IBB with small blocks is slow enough to still be running when the server stops.
                await using var sender = XftProcess.Start(
                    ["send", "bob@cli.test/mid", file, .. Connection(server, "alice", "s"), "--method", "ibb", "--block-size", "1024", "--ibb-window", "1"],
                    CliServerFixture.Password(CliServerFixture.AlicePassword));
                await sender.WaitForStderrAsync("MiB (", s_cap);

                await server.StopAsync().WaitAsync(s_cap);

                Assert.Equal(1, await sender.WaitForExitAsync(s_cap));
                Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
                var line = await receiver.ReadLineAsync(s_cap);
                using var result = JsonDocument.Parse(line!);
                Assert.Equal("error", result.RootElement.GetProperty("result").GetString());
                Assert.Contains("lost the connection to the server", result.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
                Assert.Contains("xft: lost the connection to the server: system-shutdown", receiver.StandardError, StringComparison.Ordinal);
                Assert.True(File.Exists(Path.Combine(inbox, "big.bin.part")), "the part is kept for a resume");
                Assert.False(File.Exists(Path.Combine(inbox, "big.bin")));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_send_whose_offer_waits_for_its_answer_when_the_server_stops_names_that_offer_in_its_error_line_and_exits_1()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            var file = Path.Combine(root, "held.bin");
            await TestFiles.CreateRandomAsync(file, 10_000);
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                // Bob takes the offer and holds it, unanswered: the send waits for the answer when the server goes.
                var bobFiles = new FileTransferManager();
                await using var bob = new XmppClient(new XmppClientOptions
                {
                    Jid = Jid.Create("bob", "cli.test", "held"),
                    Password = CliServerFixture.BobPassword,
                    Host = "127.0.0.1",
                    Port = server.ClientEndPoint.Port,
                    TrustedCertificateSha256 = server.CertificateSha256,
                });
                bob.AddExtension(bobFiles);
                await bob.ConnectAsync().WaitAsync(s_cap);
                await using var sender = XftProcess.Start(
                    ["send", "bob@cli.test/held", file, .. Connection(server, "alice", "held"), "--method", "ibb", "--json"],
                    CliServerFixture.Password(CliServerFixture.AlicePassword));
                using var offers = new CancellationTokenSource(s_cap);
                await using var pending = bobFiles.ReceiveOffersAsync(offers.Token).GetAsyncEnumerator(offers.Token);
                Assert.True(await pending.MoveNextAsync());

                await server.StopAsync().WaitAsync(s_cap);

                Assert.Equal(1, await sender.WaitForExitAsync(s_cap));
                using var line = JsonDocument.Parse((await sender.ReadLineAsync(s_cap))!);
                ResultLineTests.AssertFields(line.RootElement);
                Assert.Equal("error", line.RootElement.GetProperty("result").GetString());
                Assert.Equal(pending.Current.Sid, line.RootElement.GetProperty("sid").GetString());
                Assert.Contains("lost the connection to the server", line.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
                Assert.Contains("xft: lost the connection to the server: system-shutdown", sender.StandardError, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_direct_socks5_transfer_under_way_when_the_server_stops_still_completes_and_the_receiver_then_exits_1_naming_the_loss()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            var inbox = Path.Combine(root, "in");
            var content = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                await using var receiver = XftProcess.Start(
                    ["receive", .. Connection(server, "bob", "direct"), "--out", inbox, "--json"],
                    CliServerFixture.Password(CliServerFixture.BobPassword));
                await receiver.WaitForStderrAsync("waiting for files", s_cap);

                // Alice sends in process, straight to bob (loopback candidate only, no proxy: the server's goes with it), from
                // a stream that holds after its first MiB until the server is gone.
                var files = new FileTransferManager(new FileTransferOptions
                {
                    Socks5 = Socks5BytestreamOptions.Default with { Hosts = ["127.0.0.1"], DiscoverProxies = false },
                });
                await using var alice = new XmppClient(new XmppClientOptions
                {
                    Jid = Jid.Create("alice", "cli.test", "direct"),
                    Password = CliServerFixture.AlicePassword,
                    Host = "127.0.0.1",
                    Port = server.ClientEndPoint.Port,
                    TrustedCertificateSha256 = server.CertificateSha256,
                });
                alice.AddExtension(files);
                await alice.ConnectAsync().WaitAsync(s_cap);
                var held = new HeldStream(content, holdAt: 1024 * 1024);
                var sending = files.SendStreamAsync(
                    Jid.Create("bob", "cli.test", "direct"), held, new FileOfferDescription("direct.bin", content.Length), new FileSendOptions { Method = TransferMethodPreference.Socks5 });
                await held.Holding.WaitAsync(s_cap);

                await server.StopAsync().WaitAsync(s_cap);
                held.Release();

                // Neither side needs the server for bytes already flowing between them.
                var sent = await sending.WaitAsync(s_cap);
                Assert.Equal(TransferMethod.Socks5Direct, sent.Method);
                Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
                using var result = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
                Assert.Equal("ok", result.RootElement.GetProperty("result").GetString());
                Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(inbox, "direct.bin")));
                Assert.Contains("xft: lost the connection to the server: system-shutdown", receiver.StandardError, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task An_out_of_band_send_whose_download_finishes_after_the_server_stops_says_the_file_was_served_in_full_but_unconfirmed_and_exits_1()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            // Larger than loopback socket buffers hold: the sender still serves while the download pauses.
            var file = Path.Combine(root, "served.bin");
            await TestFiles.CreateRandomAsync(file, 32L * 1024 * 1024);
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                // Bob takes the offer and downloads the URL himself, pausing after the first block.
                var bobFiles = new FileTransferManager();
                await using var bob = new XmppClient(new XmppClientOptions
                {
                    Jid = Jid.Create("bob", "cli.test", "oob"),
                    Password = CliServerFixture.BobPassword,
                    Host = "127.0.0.1",
                    Port = server.ClientEndPoint.Port,
                    TrustedCertificateSha256 = server.CertificateSha256,
                });
                bob.AddExtension(bobFiles);
                await bob.ConnectAsync().WaitAsync(s_cap);
                await using var sender = XftProcess.Start(
                    ["send", "bob@cli.test/oob", file, .. Connection(server, "alice", "oob"), "--method", "oob", "--json"],
                    CliServerFixture.Password(CliServerFixture.AlicePassword));
                using var offers = new CancellationTokenSource(s_cap);
                await using var pending = bobFiles.ReceiveOffersAsync(offers.Token).GetAsyncEnumerator(offers.Token);
                Assert.True(await pending.MoveNextAsync());
                using var http = new HttpClient();
                using var response = await http.GetAsync(pending.Current.Url, HttpCompletionOption.ResponseHeadersRead).WaitAsync(s_cap);
                await using var body = await response.Content.ReadAsStreamAsync().WaitAsync(s_cap);
                var start = new byte[64 * 1024];
                await body.ReadExactlyAsync(start).AsTask().WaitAsync(s_cap);

                await server.StopAsync().WaitAsync(s_cap);

                // The download does not need the server: it goes on to the end, and the bytes are the file's.
                using var rest = new MemoryStream();
                await body.CopyToAsync(rest).WaitAsync(s_cap);
                byte[] downloaded = [.. start, .. rest.ToArray()];
                Assert.Equal(await File.ReadAllBytesAsync(file), downloaded);

                Assert.Equal(1, await sender.WaitForExitAsync(s_cap));
                using var line = JsonDocument.Parse((await sender.ReadLineAsync(s_cap))!);
                ResultLineTests.AssertFields(line.RootElement);
                Assert.Equal("error", line.RootElement.GetProperty("result").GetString());
                Assert.Equal(pending.Current.Sid, line.RootElement.GetProperty("sid").GetString());
                Assert.Contains("was served to bob@cli.test/oob in full", line.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
                Assert.Contains("xft: served.bin: served.bin was served to bob@cli.test/oob in full", sender.StandardError, StringComparison.Ordinal);
                Assert.Contains("xft: lost the connection to the server: system-shutdown", sender.StandardError, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task An_out_of_band_download_under_way_when_the_server_stops_is_saved_verified_and_the_receiver_then_exits_1_naming_the_loss()
    {
        var root = Directory.CreateTempSubdirectory("xft-lost-").FullName;
        try
        {
            var inbox = Path.Combine(root, "in");
            var content = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            const int HoldAt = 1024 * 1024;

            // The URL's server: it sends the first MiB, then the rest once the XMPP server is gone.
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var serving = Task.Run(async () =>
            {
                using var connection = await listener.AcceptTcpClientAsync().WaitAsync(s_cap);
                var stream = connection.GetStream();
                var head = new StringBuilder();
                var buffer = new byte[4096];
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && head.Length < 64 * 1024)
                {
                    var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(s_cap);
                    if (n == 0)
                    {
                        return;
                    }

                    head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n"));
                await stream.WriteAsync(content.AsMemory(0, HoldAt));
                holding.TrySetResult();
                await release.Task.WaitAsync(s_cap);
                await stream.WriteAsync(content.AsMemory(HoldAt));
                connection.Client.Shutdown(SocketShutdown.Send);
            });
            var server = await StartOwnServerAsync(root);
            await using (server)
            {
                await using var receiver = XftProcess.Start(
                    ["receive", .. Connection(server, "bob", "url"), "--out", inbox, "--json", "--allow-private-urls"],
                    CliServerFixture.Password(CliServerFixture.BobPassword));
                await receiver.WaitForStderrAsync("waiting for files", s_cap);

                // Alice offers the URL (with its SHA-256) by jabber:iq:oob; her answer can never come.
                await using var alice = new XmppClient(new XmppClientOptions
                {
                    Jid = Jid.Create("alice", "cli.test", "url"),
                    Password = CliServerFixture.AlicePassword,
                    Host = "127.0.0.1",
                    Port = server.ClientEndPoint.Port,
                    TrustedCertificateSha256 = server.CertificateSha256,
                });
                await alice.ConnectAsync().WaitAsync(s_cap);
                var url = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/f/url.bin");
                var answer = alice.SendIqAsync(Stanza.MakeIq(IqType.Set, Jid.Create("bob", "cli.test", "url"), new OobQuery(url, null, "url1", SHA256.HashData(content)).ToXml()));
                await holding.Task.WaitAsync(s_cap);

                await server.StopAsync().WaitAsync(s_cap);
                release.TrySetResult();

                Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
                using var result = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
                Assert.Equal("ok", result.RootElement.GetProperty("result").GetString());
                Assert.True(result.RootElement.GetProperty("verified").GetBoolean());
                Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(inbox, "url.bin")));
                Assert.Contains("xft: lost the connection to the server: system-shutdown", receiver.StandardError, StringComparison.Ordinal);
                await Assert.ThrowsAnyAsync<Exception>(() => answer.WaitAsync(s_cap));
                await serving.WaitAsync(s_cap);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A non-seekable stream of <c>content</c> that stops before <c>holdAt</c> until released.</summary>
    private sealed class HeldStream(byte[] content, int holdAt) : Stream
    {
        private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;

        /// <summary>Completes when everything before the hold has been read and the next read waits.</summary>
        public Task Holding => _holding.Task;

        public void Release() => _released.TrySetResult();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == holdAt)
            {
                _holding.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }

            var end = _position < holdAt ? holdAt : content.Length;
            var n = Math.Min(buffer.Length, end - _position);
            content.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData("file")]
    [InlineData("/proc/nope/x")]
    public async Task An_out_folder_that_cannot_be_written_is_a_usage_error_before_connecting(string which)
    {
        var regularFile = Path.Combine(fixture.Root, "not-a-folder-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllTextAsync(regularFile, "x");
        var output = which == "file" ? regularFile : which;

        // Nothing listens there: a receiver that got as far as connecting would fail with exit 1 instead.
        using var closed = new RefusingPort();
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["receive", "--jid", "bob@cli.test/o", "--server", $"127.0.0.1:{closed.Port}", "--out", output],
            CliServerFixture.Password(CliServerFixture.BobPassword),
            s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("--out", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("waiting for files", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("-1")]
    public async Task A_negative_max_size_is_a_usage_error(string bytes)
    {
        using var closed = new RefusingPort();
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["receive", "--jid", "bob@cli.test/m", "--server", $"127.0.0.1:{closed.Port}", "--out", Path.Combine(fixture.Root, "m"), "--max-size", bytes],
            CliServerFixture.Password(CliServerFixture.BobPassword),
            s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("--max-size", stderr, StringComparison.Ordinal);
    }
}
