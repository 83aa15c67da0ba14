using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The real binary: help texts and usage errors (exit code 2).</summary>
public sealed class UsageTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("send")]
    [InlineData("receive")]
    [InlineData("disco")]
    [InlineData("server")]
    [InlineData("demo")]
    public async Task Every_command_has_help_that_explains_its_options(string command)
    {
        var (exit, stdout, _) = await XftProcess.RunAsync([command, "--help"], null, s_cap);
        Assert.Equal(0, exit);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        Assert.Contains(command, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_root_help_lists_every_command()
    {
        var (exit, stdout, _) = await XftProcess.RunAsync(["--help"], null, s_cap);
        Assert.Equal(0, exit);
        foreach (var command in new[] { "send", "receive", "disco", "server", "demo" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_option_is_a_usage_error()
    {
        var (exit, _, stderr) = await XftProcess.RunAsync(["--bogus"], null, s_cap);
        Assert.Equal(2, exit);
        Assert.Contains("--bogus", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_method_is_a_usage_error_with_a_one_line_message()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["send", "bob@example.test/x", file, "--jid", "alice@example.test", "--method", "carrier-pigeon"],
                new Dictionary<string, string> { ["XFT_PASSWORD"] = "x" },
                s_cap);
            Assert.Equal(2, exit);
            Assert.Contains("--method", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--timeout", "0")]
    [InlineData("--offer-timeout", "0")]
    [InlineData("--offer-timeout", "-5")]
    [InlineData("--inactivity-timeout", "0")]
    [InlineData("--inactivity-timeout", "NaN")]
    public async Task A_receive_timeout_that_is_not_a_positive_number_of_seconds_is_a_usage_error_naming_the_option(string option, string value)
    {
        // Refused before anything is written or any connection is made: the folder is never created.
        var inbox = Path.Combine(Path.GetTempPath(), "xft-usage-" + Guid.NewGuid().ToString("N"));
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["receive", "--out", inbox, "--jid", "bob@example.test", option, value], new Dictionary<string, string> { ["XFT_PASSWORD"] = "x" }, s_cap);

        Assert.Equal(2, exit);
        Assert.Contains($"{option} must be a positive number of seconds", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(inbox));
    }

    [Fact]
    public async Task A_server_proxy_stream_limit_below_one_is_a_usage_error_naming_the_setting()
    {
        var data = Directory.CreateTempSubdirectory("xft-server-usage-").FullName;
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(["server", "--data", data, "--set", "Server:Proxy:MaxStreamsPerJid=0"], null, s_cap);
            Assert.Equal(2, exit);
            Assert.Contains("Server:Proxy:MaxStreamsPerJid", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_password_is_a_usage_error_that_never_suggests_argv()
    {
        var (exit, _, stderr) = await XftProcess.RunAsync(["disco", "--jid", "alice@example.test"], new Dictionary<string, string> { ["XFT_PASSWORD"] = "" }, s_cap);
        Assert.Equal(2, exit);
        Assert.Contains("XFT_PASSWORD", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_clear_one_line_failure()
    {
        using var closed = new RefusingPort();
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["disco", "--jid", "alice@example.test", "--server", $"127.0.0.1:{closed.Port}"], new Dictionary<string, string> { ["XFT_PASSWORD"] = "x" }, s_cap);
        Assert.Equal(1, exit);
        Assert.StartsWith("xft: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}
