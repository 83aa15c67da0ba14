using System.Security.Cryptography;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// The result lines of xft send and xft receive (docs/cli.md): one set of <c>--json</c> fields whatever the result, the resume
/// offset on both sides, and the name a receiver saves under.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ResultLineTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(90);

    /// <summary>Every <c>--json</c> line has exactly these fields, in this order (docs/cli.md).</summary>
    internal static readonly string[] Fields =
        ["result", "file", "bytes", "transferred", "resumed_from", "seconds", "method", "sha256", "verified", "peer", "sid", "error", "reason"];

    /// <summary>The bytes of the first in-band block the raw sender sends before it goes silent.</summary>
    private const int FirstBlock = 1024;

    [Fact]
    public async Task A_failed_receive_line_has_every_field_with_the_size_and_the_bytes_that_arrived()
    {
        var resource = "f" + Guid.NewGuid().ToString("N")[..8];
        var content = RandomNumberGenerator.GetBytes(200_000);

        using var failed = await LeavePartAsync(resource, Path.Combine(fixture.Root, resource), "part.bin", content);

        var line = failed.RootElement;
        AssertFields(line);
        Assert.Equal("error", line.GetProperty("result").GetString());
        Assert.Equal("part.bin", line.GetProperty("file").GetString());
        Assert.Equal(content.Length, line.GetProperty("bytes").GetInt64());
        Assert.Equal(FirstBlock, line.GetProperty("transferred").GetInt64());
        Assert.Equal(0, line.GetProperty("resumed_from").GetInt64());
        Assert.Equal("ibb", line.GetProperty("method").GetString());
        Assert.False(line.GetProperty("verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("reason").ValueKind);
    }

    [Fact]
    public async Task With_json_a_resumed_transfer_gives_its_offset_in_resumed_from_on_both_sides()
    {
        var resource = "j" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        var file = Path.Combine(fixture.Root, resource + "-src", "resume.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await TestFiles.CreateRandomAsync(file, 200_000);
        var content = await File.ReadAllBytesAsync(file);
        using (await LeavePartAsync(resource, inbox, "resume.bin", content))
        {
        }

        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb", "--json"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        using var sent = JsonDocument.Parse(stdout.Trim());
        AssertFields(sent.RootElement);
        Assert.Equal("ok", sent.RootElement.GetProperty("result").GetString());
        Assert.Equal(Path.GetFullPath(file), sent.RootElement.GetProperty("file").GetString());
        Assert.Equal(FirstBlock, sent.RootElement.GetProperty("resumed_from").GetInt64());
        Assert.Equal(content.Length - FirstBlock, sent.RootElement.GetProperty("transferred").GetInt64());

        // A sender never learns whether the receiver checked the hash (docs/cli.md).
        Assert.False(sent.RootElement.GetProperty("verified").GetBoolean());
        using var received = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
        AssertFields(received.RootElement);
        Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
        Assert.Equal(FirstBlock, received.RootElement.GetProperty("resumed_from").GetInt64());
        Assert.Equal(content.Length - FirstBlock, received.RootElement.GetProperty("transferred").GetInt64());
        Assert.Equal(content.Length, received.RootElement.GetProperty("bytes").GetInt64());
        Assert.True(received.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), await TestFiles.Sha256HexAsync(received.RootElement.GetProperty("file").GetString()!));
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task The_plain_lines_of_a_resumed_transfer_say_where_it_resumed_on_both_sides()
    {
        var resource = "r" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        var file = Path.Combine(fixture.Root, resource + "-src", "again.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await TestFiles.CreateRandomAsync(file, 200_000);
        using (await LeavePartAsync(resource, inbox, "again.bin", await File.ReadAllBytesAsync(file)))
        {
        }

        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("sent again.bin to ", stdout, StringComparison.Ordinal);
        Assert.Contains("by ibb, resumed at byte 1024 (0.0 MiB), sha256 ", stdout, StringComparison.Ordinal);
        var received = await receiver.ReadLineAsync(s_cap);
        Assert.StartsWith("received again.bin from ", received, StringComparison.Ordinal);
        Assert.Contains("by ibb, resumed at byte 1024 (0.0 MiB), sha256 ", received, StringComparison.Ordinal);
        Assert.EndsWith("(verified)", received, StringComparison.Ordinal);
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
    }

    [Fact]
    public async Task A_receiver_names_the_file_as_saved_in_its_progress_and_its_result_when_the_offered_name_is_taken()
    {
        var resource = "n" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        Directory.CreateDirectory(inbox);
        await File.WriteAllTextAsync(Path.Combine(inbox, "taken.bin"), "already here");
        var file = Path.Combine(fixture.Root, resource + "-src", "taken.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var sha256 = await TestFiles.CreateRandomAsync(file, 300_000);

        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.True(exit == 0, stderr);
        var received = await receiver.ReadLineAsync(s_cap);
        Assert.StartsWith("received taken (1).bin from ", received, StringComparison.Ordinal);
        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));

        // Progress is plain lines here (stderr is not a terminal); the last one is the 100% line.
        Assert.Contains("taken (1).bin: 0.3/0.3 MiB (100%)", receiver.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("taken.bin: ", receiver.StandardError, StringComparison.Ordinal);
        Assert.Equal(sha256, await TestFiles.Sha256HexAsync(Path.Combine(inbox, "taken (1).bin")));
        Assert.Equal("already here", await File.ReadAllTextAsync(Path.Combine(inbox, "taken.bin")));
    }

    [Fact]
    public async Task With_json_a_declined_send_has_every_field_with_the_full_path_and_the_size()
    {
        var resource = "d" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(fixture.Root, resource + ".bin");
        await TestFiles.CreateRandomAsync(file, 1000);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", Path.Combine(fixture.Root, resource), "--decline", "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);

        var (exit, stdout, _) = await XftProcess.RunAsync(
            ["send", $"bob@cli.test/{resource}", file, .. fixture.Connection("alice", "s" + resource), "--method", "ibb", "--json"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);
        using var declined = JsonDocument.Parse(await receiver.ReadLineAsync(s_cap) ?? "null");

        Assert.Equal(3, exit);
        using var line = JsonDocument.Parse(stdout.Trim());
        AssertFields(line.RootElement);
        Assert.Equal("error", line.RootElement.GetProperty("result").GetString());
        Assert.Equal(Path.GetFullPath(file), line.RootElement.GetProperty("file").GetString());
        Assert.Equal(1000, line.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(0, line.RootElement.GetProperty("transferred").GetInt64());
        Assert.Equal(JsonValueKind.Null, line.RootElement.GetProperty("method").ValueKind);
        Assert.Equal($"bob@cli.test/{resource}", line.RootElement.GetProperty("peer").GetString());
        Assert.Contains("declined", line.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);

        // The offer was made: the sender's line names its sid, the one the receiver's line has.
        Assert.Equal(declined.RootElement.GetProperty("sid").GetString(), line.RootElement.GetProperty("sid").GetString());
        Assert.NotNull(line.RootElement.GetProperty("sid").GetString());
    }

    [Fact]
    public async Task A_reader_that_stops_reading_stdout_stalls_no_offer_and_loses_no_line_nor_their_order()
    {
        var resource = "s" + Guid.NewGuid().ToString("N")[..8];
        var inbox = Path.Combine(fixture.Root, resource);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--accept-from", "bob@cli.test", "--count", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword),
            stdoutReadFrom: reading.Task);
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var stranger = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "s" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);

        // Each is declined on the XMPP read loop, with a line of about 300 bytes: far more than the 64 KiB a pipe holds, so
        // xft's writes to stdout block long before the last. Every offer must still be answered at once.
        const int Offers = 400;
        for (var i = 0; i < Offers; i++)
        {
            var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => stranger.OfferAsync(bob, $"spam{i}", $"spam{i}.bin", 10));
            Assert.Equal("forbidden", refused.Error.Condition);
        }

        // The stderr line of the last offer waits behind the stdout lines before it: the pipe is full indeed.
        Assert.DoesNotContain($"spam{Offers - 1}.bin", receiver.StandardError, StringComparison.Ordinal);

        reading.SetResult();
        for (var i = 0; i < Offers; i++)
        {
            using var declined = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
            Assert.Equal("declined", declined.RootElement.GetProperty("result").GetString());
            Assert.Equal($"spam{i}", declined.RootElement.GetProperty("sid").GetString());
        }

        // Bob's other resource is on the list: its file ends the command, and its line comes last.
        await using var friend = await RawSender.ConnectAsync(fixture, "bob", CliServerFixture.BobPassword, "f" + resource, s_cap);
        await friend.SendAsync(bob, "wanted", "wanted.bin", RandomNumberGenerator.GetBytes(700));
        using (var received = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!))
        {
            Assert.Equal("ok", received.RootElement.GetProperty("result").GetString());
        }

        Assert.Equal(0, await receiver.WaitForExitAsync(s_cap));
        Assert.Null(await receiver.ReadLineAsync(s_cap));
        Assert.Contains($"xft: declined spam{Offers - 1}.bin from {stranger.Jid}", receiver.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Asserts that a <c>--json</c> line has exactly the documented fields, in order.</summary>
    internal static void AssertFields(JsonElement line) => Assert.Equal(Fields, line.EnumerateObject().Select(p => p.Name));

    /// <summary>
    /// Leaves a part of <paramref name="content"/> in <paramref name="inbox"/>: alice offers it as <paramref name="name"/> with its
    /// SHA-256 and range support (what xft send offers, so xft send can resume it), sends the first block and goes silent, and
    /// xft receive fails it after a second of silence. Returns the receiver's error line.
    /// </summary>
    private async Task<JsonDocument> LeavePartAsync(string resource, string inbox, string name, byte[] content)
    {
        await using var receiver = XftProcess.Start(
            ["receive", .. fixture.Connection("bob", resource), "--out", inbox, "--count", "1", "--inactivity-timeout", "1", "--json"],
            CliServerFixture.Password(CliServerFixture.BobPassword));
        await receiver.WaitForStderrAsync("waiting for files", s_cap);
        await using var sender = await RawSender.ConnectAsync(fixture, "alice", CliServerFixture.AlicePassword, "p" + resource, s_cap);
        var bob = Jid.Create("bob", "cli.test", resource);
        var sid = "part-" + resource;
        await sender.OfferAsync(bob, sid, new FileOfferDescription(name, content.Length) { Sha256 = SHA256.HashData(content), SupportsRange = true });
        await using var stream = await sender.OpenAsync(bob, sid);
        await stream.WriteAsync(content.AsMemory(0, FirstBlock)).AsTask().WaitAsync(s_cap);

        var line = JsonDocument.Parse((await receiver.ReadLineAsync(s_cap))!);
        Assert.Equal(1, await receiver.WaitForExitAsync(s_cap));
        Assert.True(File.Exists(Path.Combine(inbox, name + ".part")));
        return line;
    }
}
