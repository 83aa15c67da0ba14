using System.Security.Cryptography;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>xft send and xft receive as real processes through the embedded server.</summary>
[Collection(CliCollection.Name)]
public sealed class TransferTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("ibb", "ibb")]
    [InlineData("s5b", "s5b-direct")]
    [InlineData("auto", "s5b-direct")]
    [InlineData("oob", "oob")]
    public async Task Send_and_receive_with_json_report_the_method_and_a_matching_sha256(string method, string expected)
    {
        var resource = "r" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, "in-" + resource);
        var file = Path.Combine(fixture.Root, "file-" + resource + ".bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, 300_000 + method.Length);

        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1", "--json", "--s5b-host", "127.0.0.1", "--allow-private-urls"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", method, "--json", "--s5b-host", "127.0.0.1"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        using var sent = JsonDocument.Parse(stdout.Trim());
        ResultLineTests.AssertFields(sent.RootElement);
        Assert.Equal("ok", sent.RootElement.GetProperty("result").GetString());
        Assert.Equal(expected, sent.RootElement.GetProperty("method").GetString());
        var line = await receiver.ReadLineAsync(s_cap);
        using var received = JsonDocument.Parse(line!);
        ResultLineTests.AssertFields(received.RootElement);
        Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
        Assert.Equal(sha256, received.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(expected, received.RootElement.GetProperty("method").GetString());
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.RootElement.GetProperty("file").GetString()!));
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task With_no_hash_on_both_sides_the_file_arrives_byte_exact_but_unverified_and_unhashed()
    {
        var resource = "n" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, "in-" + resource);
        var file = Path.Combine(fixture.Root, "file-" + resource + ".bin");
        var sha256 = await TestFiles.CreateRandomAsync(file, 2_000_000);

        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1", "--json", "--s5b-host", "127.0.0.1", "--no-hash"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "s5b", "--json", "--s5b-host", "127.0.0.1", "--no-hash"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        using var sent = JsonDocument.Parse(stdout.Trim());
        Assert.Equal(JsonValueKind.Null, sent.RootElement.GetProperty("sha256").ValueKind);
        var line = await receiver.ReadLineAsync(s_cap);
        using var received = JsonDocument.Parse(line!);
        Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
        Assert.False(received.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, received.RootElement.GetProperty("sha256").ValueKind);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(received.RootElement.GetProperty("file").GetString()!));
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task A_declined_offer_makes_the_sender_exit_with_3()
    {
        var resource = "d" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 1000);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--decline", "--count", "1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);

        // The receiver declines and exits at once: its close sends the decline (it once did not, on a busy machine, and the
        // sender heard nothing for 90 s).
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(3, exit);
        Assert.Contains("declined", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_cancels_a_transfer_with_exit_130_and_the_receiver_is_told()
    {
        var resource = "c" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 64L * 1024 * 1024);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);

        // Stop-and-wait IBB with small blocks is slow enough to interrupt mid-way.
        await using var sender = XftProcess.Start(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb", "--block-size", "1024", "--ibb-window", "1"],
            CliServerFixture.Password(CliServerFixture.AlicePassword));
        await sender.WaitForStderrAsync("MiB (", s_cap);
        await sender.InterruptAsync();

        Assert.Equal(130, await sender.WaitForExitAsync(s_cap));
        var line = await receiver.ReadLineAsync(s_cap);
        using var received = JsonDocument.Parse(line!);
        Assert.Equal("error", received.RootElement.GetProperty("result").GetString());
        Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
        Assert.False(File.Exists(Path.Combine(inbox, resource + ".bin")));
    }

    [Fact]
    public async Task Sigterm_cancels_a_receive_with_exit_130_keeping_the_part_and_the_sender_is_told()
    {
        var resource = "t" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 64L * 1024 * 1024);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = XftProcess.Start(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb", "--block-size", "1024", "--ibb-window", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.AlicePassword));
        await receiver.WaitForStderrAsync("MiB (", s_cap);

        await receiver.TerminateAsync();

        // The receiver takes the time the clean cancel needs (no 2 s cut): it tells the sender and keeps the part for a resume.
        Assert.Equal(130, await receiver.WaitForExitAsync(s_cap));
        Assert.Contains("xft: cancelled.", receiver.StandardError, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(inbox, resource + ".bin.part")), receiver.StandardError);
        Assert.Equal(1, await sender.WaitForExitAsync(s_cap));
        using var sent = JsonDocument.Parse((await sender.ReadLineAsync(s_cap))!);
        Assert.Equal("error", sent.RootElement.GetProperty("result").GetString());
    }

    [Fact]
    public async Task An_offer_that_expires_behind_a_transfer_is_reported_but_not_counted_and_the_next_file_still_meets_the_count()
    {
        var resource = "e" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "2", "--offer-timeout", "5", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);
        var held = RandomNumberGenerator.GetBytes(3000);

        // The offer timeout applies to the held and the next offer too: 5 s leaves a cold xft on a loaded machine room to take
        // them. xft accepts the first file and gets one block of it; the rest waits for the test, so xft is busy until then.
        await sender.OfferAsync(bob, "held", "held.bin", held.Length);
        await using (var stream = await sender.OpenAsync(bob, "held"))
        {
            await stream.WriteAsync(held.AsMemory(0, 1024)).AsTask().WaitAsync(s_cap);

            // Queued behind it, the second offer waits out its 5 s and its sender hears the decline.
            var declined = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => sender.OfferAsync(bob, "late", "late.bin", 10));
            Assert.Equal("forbidden", declined.Error.Condition);
            await stream.WriteAsync(held.AsMemory(1024)).AsTask().WaitAsync(s_cap);
            await stream.CompleteAsync().WaitAsync(s_cap);
        }

        using (var first = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            Assert.Equal("ok", first.RootElement.GetProperty("result").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(held)), first.RootElement.GetProperty("sha256").GetString());
        }

        using (var late = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            ResultLineTests.AssertFields(late.RootElement);
            Assert.Equal("expired", late.RootElement.GetProperty("result").GetString());
            Assert.Equal("late.bin", late.RootElement.GetProperty("file").GetString());
            Assert.Equal(10, late.RootElement.GetProperty("bytes").GetInt64());
            Assert.Equal("late", late.RootElement.GetProperty("sid").GetString());
        }

        // Not one of the two: xft still waits, and the next file makes the count.
        var next = RandomNumberGenerator.GetBytes(2000);
        await sender.SendAsync(bob, "next", "next.bin", next);
        using (var third = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            Assert.Equal("ok", third.RootElement.GetProperty("result").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(next)), third.RootElement.GetProperty("sha256").GetString());
        }

        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
        Assert.Contains($"xft: late.bin from {sender.Jid}: the offer waited more than 5 s and was declined", receiver.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(inbox, "late.bin")));
    }

    [Fact]
    public async Task With_json_an_offer_declined_by_decline_gets_a_declined_line_and_counts_towards_the_count_as_a_failure()
    {
        var resource = "x" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--decline", "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        await Assert.ThrowsAsync<XmppStanzaErrorException>(() => sender.OfferAsync(bob, "nope", "nope.bin", 10));

        using (var declined = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            AssertDeclined(declined.RootElement, "nope.bin", 10, sender.Jid, "nope", "--decline");
        }

        // The one file of --count 1, and a failure: --decline always ended the command this way.
        Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
        Assert.Contains($"xft: declined nope.bin from {sender.Jid}", receiver.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_json_an_offer_over_max_size_gets_a_declined_line_but_is_not_counted_and_the_next_file_meets_the_count()
    {
        var resource = "m" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--max-size", "1000", "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => sender.OfferAsync(bob, "big", "big.bin", 5000));
        Assert.Equal("forbidden", refused.Error.Condition);
        using (var declined = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            AssertDeclined(declined.RootElement, "big.bin", 5000, sender.Jid, "big", "larger than --max-size");
            Assert.Equal("declined: 5000 bytes is larger than --max-size 1000", declined.RootElement.GetProperty("error").GetString());
        }

        // Not one of --count 1: xft still waits, and a file within the limit makes the count.
        var small = RandomNumberGenerator.GetBytes(500);
        await sender.SendAsync(bob, "small", "small.bin", small);
        using (var received = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(small)), received.RootElement.GetProperty("sha256").GetString());
        }

        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
        Assert.False(File.Exists(Path.Combine(inbox, "big.bin")));
    }

    [Fact]
    public async Task With_json_an_offer_from_a_sender_not_in_accept_from_gets_a_declined_line_but_is_not_counted()
    {
        var resource = "a" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--accept-from", "bob@cli.test", "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var stranger = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => stranger.OfferAsync(bob, "spam", "spam.bin", 10));
        Assert.Equal("forbidden", refused.Error.Condition);
        using (var declined = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            AssertDeclined(declined.RootElement, "spam.bin", 10, stranger.Jid, "spam", "sender not in --accept-from");
        }

        // Bob's other resource is on the list: its file is the one of --count 1.
        await using var friend = await RawSender.ConnectAsync(fixture, "bob", CliServerFixture.BobPassword, "s" + resource, s_cap);
        var wanted = RandomNumberGenerator.GetBytes(700);
        await friend.SendAsync(bob, "wanted", "wanted.bin", wanted);
        using (var received = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
            Assert.Equal(friend.Jid.ToString(), received.RootElement.GetProperty("peer").GetString());
        }

        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
        Assert.False(File.Exists(Path.Combine(inbox, "spam.bin")));

        // Said on stderr too, as every file that is not received is, with or without --json.
        Assert.Contains($"xft: declined spam.bin from {stranger.Jid}: {stranger.Jid.Bare} is not in --accept-from", receiver.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_silent_for_the_inactivity_timeout_fails_the_file_instead_of_holding_the_receiver()
    {
        var resource = "i" + Guid.NewGuid().ToString("N")[..8];
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--count", "1", "--inactivity-timeout", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        // One block of three, then nothing: only the receiver's timeout (1 s, not the default 120 s) ends it within the cap.
        await sender.OfferAsync(bob, "stall", "stall.bin", 3000);
        await using var stream = await sender.OpenAsync(bob, "stall");
        await stream.WriteAsync(new byte[1024]).AsTask().WaitAsync(s_cap);

        using var failed = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
        Assert.Equal("error", failed.RootElement.GetProperty("result").GetString());
        Assert.Contains("for 1 s", failed.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task A_transfer_still_running_at_the_timeout_is_cancelled_and_the_receiver_exits_with_1()
    {
        var resource = "t" + Guid.NewGuid().ToString("N")[..8];

        // The sender logs in first, so that between xft's "waiting" and its deadline lie only one offer and one open; the
        // deadline is far beyond them, and far below the 120 s inactivity timeout that would otherwise end the transfer.
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--count", "1", "--timeout", "10", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        // One block of three, then the sender waits: only the deadline can end this transfer within the cap.
        await sender.OfferAsync(bob, "slow", "slow.bin", 3000);
        await using var stream = await sender.OpenAsync(bob, "slow");
        await stream.WriteAsync(new byte[1024]).AsTask().WaitAsync(s_cap);

        using (var cut = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            ResultLineTests.AssertFields(cut.RootElement);
            Assert.Equal("error", cut.RootElement.GetProperty("result").GetString());
            Assert.Equal("slow", cut.RootElement.GetProperty("sid").GetString());
            Assert.Equal(3000, cut.RootElement.GetProperty("bytes").GetInt64());
            Assert.Equal(1024, cut.RootElement.GetProperty("transferred").GetInt64());
            Assert.Equal("cancelled at --timeout", cut.RootElement.GetProperty("error").GetString());
        }

        Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
        Assert.Contains("timed out after receiving 0 file(s)", receiver.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Progress_goes_to_stderr_as_plain_lines_when_stderr_is_not_a_terminal()
    {
        var resource = "p" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 2 * 1024 * 1024);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--count", "1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);

        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        Assert.Contains($"{resource}.bin: 2.0/2.0 MiB (100%)", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", stderr, StringComparison.Ordinal);
        Assert.StartsWith("sent ", stdout, StringComparison.Ordinal);
    }

    /// <summary>A declined line has the fields of every line: the offered name and size, nothing moved, the option that declined it.</summary>
    private static void AssertDeclined(JsonElement line, string file, long size, Jid peer, string sid, string reason)
    {
        ResultLineTests.AssertFields(line);
        Assert.Equal("declined", line.GetProperty("result").GetString());
        Assert.Equal(file, line.GetProperty("file").GetString());
        Assert.Equal(size, line.GetProperty("bytes").GetInt64());
        Assert.Equal(0, line.GetProperty("transferred").GetInt64());
        Assert.False(line.GetProperty("verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("method").ValueKind);
        Assert.Equal(peer.ToString(), line.GetProperty("peer").GetString());
        Assert.Equal(sid, line.GetProperty("sid").GetString());
        Assert.Equal(reason, line.GetProperty("reason").GetString());
        Assert.StartsWith("declined: ", line.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
