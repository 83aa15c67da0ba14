using XmppTransfer.Cli.Output;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The real binary: errors are one readable line with the documented exit code (docs/cli.md).</summary>
[Collection(CliCollection.Name)]
public sealed class ErrorMessageTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_malformed_certificate_pin_is_a_usage_error_without_the_parameter_name()
    {
        var file = Path.Combine(fixture.Root, "pin-" + Guid.NewGuid().ToString("N") + ".txt");
        await File.WriteAllTextAsync(file, "hi", TestContext.Current.CancellationToken);
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", "bob@cli.test/x", file, "--jid", "alice@cli.test", "--server", $"127.0.0.1:{fixture.Server.ClientEndPoint.Port}", "--trust-cert-sha256", "AA:BB"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("64 hex digits", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(CliServerFixture.AlicePassword, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_user_name_for_add_user_is_a_usage_error_without_the_parameter_name()
    {
        var data = Directory.CreateTempSubdirectory("xft-add-user-").FullName;
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["server", "add-user", "Bad User@x", "--data", data], new Dictionary<string, string> { ["XFT_NEW_PASSWORD"] = "pw" }, s_cap);
            Assert.Equal(2, exit);
            Assert.Contains("is not a valid user name", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Theory]
    [InlineData("client")]
    [InlineData("proxy")]
    public async Task A_server_port_in_use_names_the_address_and_the_setting_to_change(string which)
    {
        using var holder = new TakenPort();
        var taken = holder.EndPoint;
        var data = Directory.CreateTempSubdirectory("xft-port-taken-").FullName;
        try
        {
            string[] ports = which == "client"
                ? ["--listen", taken.ToString(), "--set", "Server:Proxy:Port=0"]
                : ["--listen", "127.0.0.1:0", "--set", $"Server:Proxy:Port={taken.Port}"];
            var (exit, stdout, stderr) = await XftProcess.RunAsync(["server", "--data", data, .. ports], null, s_cap);

            Assert.Equal(1, exit);
            Assert.Contains($"Cannot listen on {taken}: the port is already in use", stderr, StringComparison.Ordinal);
            Assert.Contains(which == "client" ? "--listen" : "Server:Proxy:Port", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("unexpected", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Application started", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("xft server: domain", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_oob_listen_address_this_machine_lacks_is_a_usage_error_naming_the_option()
    {
        // 192.0.2.1 (TEST-NET-1) is on no interface here; binding to it fails locally and sends nothing.
        var file = Path.Combine(fixture.Root, "oob-" + Guid.NewGuid().ToString("N") + ".txt");
        await File.WriteAllTextAsync(file, "hi", TestContext.Current.CancellationToken);
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", "bob@cli.test/x", file, .. fixture.Connection("alice", "oob"), "--method", "oob", "--oob-listen", "192.0.2.1"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("--oob-listen 192.0.2.1", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sending_a_directory_says_it_is_a_directory()
    {
        var folder = Directory.CreateTempSubdirectory("xft-send-dir-").FullName;
        try
        {
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["send", "bob@cli.test/x", folder, .. fixture.Connection("alice", "dir")], CliServerFixture.Password(CliServerFixture.AlicePassword), s_cap);
            Assert.Equal(2, exit);
            Assert.Contains("is a directory", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [Fact]
    public async Task Sending_a_pipe_is_a_usage_error_before_logging_in()
    {
        // The test's xft has its stdin redirected from a pipe: /dev/stdin is one, as <(command) in a shell is. The server
        // port refuses connections, so reaching the login would be a connection error, not this.
        using var closed = new RefusingPort();
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", "bob@cli.test/x", "/dev/stdin", "--jid", "alice@cli.test", "--server", $"127.0.0.1:{closed.Port}"],
            CliServerFixture.Password(CliServerFixture.AlicePassword),
            s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("only regular files can be sent", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sending_a_named_pipe_that_has_no_writer_is_a_usage_error_at_once_instead_of_a_wait_for_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var folder = Directory.CreateTempSubdirectory("xft-send-fifo-").FullName;
        try
        {
            // Nobody ever writes to it: an xft that opened it would wait until the cap kills it.
            using var fifo = await Fifo.CreateAsync(Path.Combine(folder, "pipe"), TestContext.Current.CancellationToken);
            using var closed = new RefusingPort();
            var (exit, _, stderr) = await XftProcess.RunAsync(
                ["send", "bob@cli.test/x", fifo.Path, "--jid", "alice@cli.test", "--server", $"127.0.0.1:{closed.Port}"],
                CliServerFixture.Password(CliServerFixture.AlicePassword),
                s_cap);

            Assert.Equal(2, exit);
            Assert.Contains($"{fifo.Path} is a named pipe (FIFO), not a regular file", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("unexpected", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Sending_to_a_domain_whose_server_cannot_be_reached_says_so_rather_than_offline()
    {
        var file = Path.Combine(fixture.Root, "remote-" + Guid.NewGuid().ToString("N") + ".txt");
        await File.WriteAllTextAsync(file, "hi", TestContext.Current.CancellationToken);
        var (exit, _, stderr) = await XftProcess.RunAsync(
            ["send", "bob@otherdomain.example/x", file, .. fixture.Connection("alice", "remote")], CliServerFixture.Password(CliServerFixture.AlicePassword), s_cap);

        Assert.Equal(1, exit);
        Assert.Contains("The server of otherdomain.example could not be reached", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("is not online", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("declined the file: Offer Declined: files up to 1000 bytes..", "declined the file: Offer Declined: files up to 1000 bytes.")]
    [InlineData("The server is shutting down..", "The server is shutting down.")]
    [InlineData("Waiting...", "Waiting...")]
    [InlineData("No period", "No period")]
    public void A_doubled_final_period_is_printed_once(string message, string expected) =>
        Assert.Equal(expected, ErrorText.Line(message));

    [Fact]
    public void An_argument_error_reads_without_the_parameter_name()
    {
        var ex = new ArgumentException("The pin must be 64 hex digits.", "sha256Pin");
        Assert.Equal("The pin must be 64 hex digits.", ErrorText.Of(ex));
    }
}
