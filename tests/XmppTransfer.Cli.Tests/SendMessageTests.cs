using System.Security.Cryptography;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// What xft send, receive and disco say in the cases a walkthrough against a real server found wanting: a direct SOCKS5
/// port that is taken, an offline full JID asked with disco, an interrupted transfer's <c>--json</c> line.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class SendMessageTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_taken_s5b_port_is_a_warning_naming_the_option_and_the_file_goes_through_the_proxy()
    {
        var resource = "w" + Guid.NewGuid().ToString("N")[..8];
        using var taken = new TakenPort();
        var port = taken.Port;
        var (file, receiver) = await StartOneFileReceiveAsync(resource, 100_000);
        await using var receiving = receiver;

        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--s5b-host", "127.0.0.1", "--s5b-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        Assert.Contains(
            $"xft: warning: cannot listen for direct SOCKS5 connections on port {port} (--s5b-port): the port is already in use; offering SOCKS5 proxies only, then in-band.",
            stderr,
            StringComparison.Ordinal);
        Assert.Contains("by s5b-proxy", stdout, StringComparison.Ordinal);
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task With_method_s5b_and_no_proxy_a_taken_s5b_port_fails_naming_the_single_port_and_the_option()
    {
        var resource = "p" + Guid.NewGuid().ToString("N")[..8];
        using var taken = new TakenPort();
        var port = taken.Port;
        var (file, receiver) = await StartOneFileReceiveAsync(resource, 1000);
        await using var receiving = receiver;

        // The only proxy given is an account that does not exist: it answers no address, so nothing but our port is left.
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "s5b",
                "--s5b-host", "127.0.0.1", "--s5b-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--proxy", "nobody@cli.test"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(1, exit);
        Assert.Contains($"Cannot listen for direct SOCKS5 connections on port {port} (--s5b-port): the port is already in use", stderr, StringComparison.Ordinal);
        Assert.Contains("choose another with --s5b-port", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain($"{port}-{port}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("AddressAlreadyInUse", stderr, StringComparison.Ordinal);
        await receiver.WaitForExitAsync(s_cap);
    }

    [Fact]
    public async Task Disco_of_an_offline_full_jid_says_it_is_not_online_as_send_does()
    {
        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["disco", "bob@cli.test/nowhere", .. fixture.Connection("alice", "disco" + Guid.NewGuid().ToString("N")[..6])],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(1, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Matches(@"^xft: bob@cli\.test/nowhere is not online \([a-z-]+\)\.$", stderr.Trim());
    }

    [Fact]
    public async Task An_interrupted_send_writes_a_cancelled_json_line_for_the_file_it_was_sending()
    {
        var resource = "c" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 10_000);

        // Bob takes the offer and holds it, unanswered: the send waits for the answer until it is interrupted.
        var bobFiles = new FileTransferManager();
        await using var bob = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Create("bob", "cli.test", resource),
            Password = CliServerFixture.BobPassword,
            Host = "127.0.0.1",
            Port = fixture.Server.ClientEndPoint.Port,
            TrustedCertificateSha256 = fixture.Server.CertificateSha256,
        });
        bob.AddExtension(bobFiles);
        await bob.ConnectAsync().WaitAsync(s_cap);
        await using var sender = XftProcess.Start(
            ["send", bob.BoundJid.ToString(), file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb", "--json"],
            CliServerFixture.Password(CliServerFixture.AlicePassword));
        using var offers = new CancellationTokenSource(s_cap);
        await using var pending = bobFiles.ReceiveOffersAsync(offers.Token).GetAsyncEnumerator(offers.Token);
        Assert.True(await pending.MoveNextAsync());

        await sender.InterruptAsync();

        Assert.Equal(130, await sender.WaitForExitAsync(s_cap));
        using var line = JsonDocument.Parse((await sender.ReadLineAsync(s_cap))!);
        ResultLineTests.AssertFields(line.RootElement);
        Assert.Equal("cancelled", line.RootElement.GetProperty("result").GetString());
        Assert.Equal(Path.GetFullPath(file), line.RootElement.GetProperty("file").GetString());
        Assert.Equal(10_000, line.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal("cancelled (Ctrl-C or SIGTERM)", line.RootElement.GetProperty("error").GetString());
        Assert.Contains("xft: cancelled.", sender.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_terminated_receive_writes_a_cancelled_json_line_for_the_file_it_was_receiving()
    {
        var resource = "t" + Guid.NewGuid().ToString("N")[..8];
        var content = RandomNumberGenerator.GetBytes(100_000);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        // One block, then silence: the receive is running, with its first progress line out, when it is stopped.
        await sender.OfferAsync(bob, "held", new FileOfferDescription("held.bin", content.Length));
        await using var stream = await sender.OpenAsync(bob, "held");
        await stream.WriteAsync(content.AsMemory(0, 1024)).AsTask().WaitAsync(s_cap);
        await receiver.WaitForStderrAsync("held.bin: ", s_cap);

        await receiver.TerminateAsync();

        Assert.Equal(130, await receiver.WaitForExitAsync(s_cap));
        using var line = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
        ResultLineTests.AssertFields(line.RootElement);
        Assert.Equal("cancelled", line.RootElement.GetProperty("result").GetString());
        Assert.Equal("held.bin", line.RootElement.GetProperty("file").GetString());
        Assert.Equal(1024, line.RootElement.GetProperty("transferred").GetInt64());
        Assert.Equal("held", line.RootElement.GetProperty("sid").GetString());
        Assert.Equal("cancelled (Ctrl-C or SIGTERM)", line.RootElement.GetProperty("error").GetString());
    }

    /// <summary>A file of <paramref name="size"/> random bytes to send, and bob's <c>xft receive --count 1</c> on <paramref name="resource"/>, waiting.</summary>
    private async Task<(string File, XftProcess Receiver)> StartOneFileReceiveAsync(string resource, int size)
    {
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, size);
        var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--count", "1", "--s5b-host", "127.0.0.1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        try
        {
            await receiver.WaitForStderrAsync("waiting for files", s_cap);
            return (file, receiver);
        }
        catch
        {
            await receiver.DisposeAsync();
            throw;
        }
    }
}
