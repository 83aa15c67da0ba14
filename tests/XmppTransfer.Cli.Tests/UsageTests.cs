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
    public async Task Bare_xft_prints_the_help_listing_the_commands_on_stdout_with_exit_code_2()
    {
        var (exit, stdout, stderr) = await XftProcess.RunAsync([], null, s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        foreach (var command in new[] { "send", "receive", "disco", "proxy", "server", "demo" })
        {
            Assert.Contains($"  {command} ", stdout, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Required command", stdout + stderr, StringComparison.Ordinal);
        Assert.Empty(stderr);
    }

    [Fact]
    public async Task A_mistyped_option_before_the_receiver_is_a_usage_error_naming_it_not_a_missing_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (exit, stdout, stderr) = await XftProcess.RunAsync(["send", "--verbos", "alice@example.test", file], null, s_cap);

            Assert.Equal(2, exit);
            Assert.Equal("xft: '--verbos' is not an option of 'xft send'. Did you mean '--verbose'?", Assert.Single(Lines(stderr)));
            Assert.Empty(stdout);
        }
        finally
        {
            File.Delete(file);
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

    [Fact]
    public async Task A_mistyped_command_is_one_error_line_with_the_nearest_command_and_exit_code_2()
    {
        var (exit, stdout, stderr) = await XftProcess.RunAsync(["discover"], null, s_cap);

        Assert.Equal(2, exit);
        Assert.Equal("xft: 'discover' is not an xft command. Did you mean 'disco'?", Assert.Single(Lines(stderr)));
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task A_mistyped_subcommand_is_one_error_line_with_the_nearest_subcommand()
    {
        var (exit, _, stderr) = await XftProcess.RunAsync(["server", "add-usr", "bob"], null, s_cap);

        Assert.Equal(2, exit);
        Assert.Equal("xft: 'add-usr' is not a command of 'xft server'. Did you mean 'add-user'?", Assert.Single(Lines(stderr)));
    }

    [Fact]
    public async Task An_unknown_server_setting_in_set_is_a_usage_error_naming_it_and_the_nearest_key()
    {
        var data = Directory.CreateTempSubdirectory("xft-server-usage-").FullName;
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(["server", "--data", data, "--set", "Server:Proxy:Prot=7778"], null, s_cap);

            Assert.Equal(2, exit);
            Assert.Equal("xft: Unknown setting 'Server:Proxy:Prot' in --set. Did you mean 'Server:Proxy:Port'?", Assert.Single(Lines(stderr)));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_unknown_key_in_server_json_is_a_usage_error_naming_the_file_and_listing_the_settings()
    {
        var data = Directory.CreateTempSubdirectory("xft-server-usage-").FullName;
        try
        {
            var file = Path.Combine(data, "server.json");
            await File.WriteAllTextAsync(file, """{ "Server": { "Colour": "blue" } }""", TestContext.Current.CancellationToken);

            var (exit, _, stderr) = await XftProcess.RunAsync(["server", "--data", data], null, s_cap);

            Assert.Equal(2, exit);
            var line = Assert.Single(Lines(stderr));
            Assert.StartsWith($"xft: Unknown setting 'Server:Colour' in {file}. The settings are Server:Domain, ", line, StringComparison.Ordinal);
            Assert.Contains("xmpp.proxy.port", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_unknown_proxy_setting_in_the_environment_is_a_usage_error_naming_the_variable()
    {
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["proxy", "--component-jid", "proxy.usage.test", "--listen", "127.0.0.1:0", "--public-host", "127.0.0.1"],
            new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = "usage-secret", ["XFT_Proxy__MaxConections"] = "5" },
            s_cap);

        Assert.Equal(2, exit);
        Assert.Equal("xft: Unknown setting 'XFT_Proxy__MaxConections' in the environment. Did you mean 'XFT_Proxy__MaxConnections'?", Assert.Single(Lines(stderr)));
    }

    [Fact]
    public async Task A_password_with_a_control_character_is_a_usage_error_that_never_shows_it()
    {
        const string password = "secret\tpart";
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["disco", "--jid", "alice@example.test", "--server", "127.0.0.1:1"], new Dictionary<string, string> { ["XFT_PASSWORD"] = password }, s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("XFT_PASSWORD contains a control character", Assert.Single(Lines(stderr)), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_saslprep_prohibits_is_a_usage_error_naming_where_it_came_from_and_never_showing_it()
    {
        // U+E000 is private use: no control character, but SASLprep (RFC 4013, table C.3) refuses it.
        const string password = "secret\uE000part";
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["disco", "--jid", "alice@example.test", "--server", "127.0.0.1:1"], new Dictionary<string, string> { ["XFT_PASSWORD"] = password }, s_cap);

        Assert.Equal(2, exit);
        var line = Assert.Single(Lines(stderr));
        Assert.Contains("The password in XFT_PASSWORD cannot be used with SASL", line, StringComparison.Ordinal);
        Assert.Contains("prohibited by SASLprep", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a certificate\n", "holds no PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", "is not a PEM file of CA certificates")]
    public async Task A_ca_file_without_a_readable_certificate_is_a_usage_error_naming_the_option(string content, string expected)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, content, TestContext.Current.CancellationToken);
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["disco", "--jid", "alice@example.test", "--server", "127.0.0.1:1", "--ca-file", file], new Dictionary<string, string> { ["XFT_PASSWORD"] = "x" }, s_cap);

            Assert.Equal(2, exit);
            var line = Assert.Single(Lines(stderr));
            Assert.Contains("--ca-file " + file, line, StringComparison.Ordinal);
            Assert.Contains(expected, line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_oob_port_out_of_range_is_a_usage_error_naming_the_option()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["send", "bob@example.test/x", file, "--jid", "alice@example.test", "--method", "oob", "--oob-port", "70000"],
                new Dictionary<string, string> { ["XFT_PASSWORD"] = "x" },
                s_cap);

            Assert.Equal(2, exit);
            Assert.Contains("--oob-port must be a port", Assert.Single(Lines(stderr)), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_invalid_user_name_for_remove_user_is_a_usage_error_and_creates_nothing()
    {
        var data = Path.Combine(Path.GetTempPath(), "xft-remove-user-" + Guid.NewGuid().ToString("N"));
        var (exit, _, stderr) = await XftProcess.RunAsync(["server", "remove-user", "Bad User@x", "--data", data], null, s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("is not a valid user name", Assert.Single(Lines(stderr)), StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
