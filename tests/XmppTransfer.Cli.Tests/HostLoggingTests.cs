using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The real binary: <c>xft proxy</c> and <c>xft server</c> take their log levels from their own configuration.</summary>
public sealed class HostLoggingTests
{
    private const string Information = "info:";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> ProxyEnvironment(string? level)
    {
        Dictionary<string, string> environment = new() { ["XFT_COMPONENT_SECRET"] = "logging-test-secret" };
        if (level is not null)
        {
            environment["XFT_Logging__LogLevel__Default"] = level;
        }

        return environment;
    }

    /// <summary>
    /// A proxy whose XMPP server, <paramref name="server"/> (held until the proxy stops), refuses the connection: it
    /// warns, then logs the reconnect at Information.
    /// </summary>
    private static XftProcess StartProxy(RefusingPort server, Dictionary<string, string> environment) => XftProcess.Start(
        [
            "proxy", "--component-jid", "proxy.logging.test", "--server", $"127.0.0.1:{server.Port}",
            "--listen", "127.0.0.1:0", "--public-host", "127.0.0.1",
        ],
        environment);

    private static XftProcess StartServer(string data, params string[] extra) =>
        XftProcess.Start(["server", "--data", data, "--listen", "127.0.0.1:0", "--set", "Server:Proxy:Port=0", .. extra]);

    /// <summary>Stops <paramref name="xft"/> with SIGTERM and returns everything it wrote on stderr.</summary>
    private static async Task<string> StopAsync(XftProcess xft)
    {
        await xft.TerminateAsync().WaitAsync(s_cap);
        await xft.WaitForExitAsync(s_cap);
        return xft.StandardError;
    }

    private static async Task WaitForBannerAsync(XftProcess xft)
    {
        while (await xft.ReadLineAsync(s_cap) is { } line)
        {
            if (line.Contains("certificate SHA-256", StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new InvalidOperationException("xft server ended before printing its banner. stderr:\n" + xft.StandardError);
    }

    [Fact]
    public async Task The_proxy_logs_information_lines_when_no_level_is_configured()
    {
        using var server = new RefusingPort();
        await using XftProcess xft = StartProxy(server, ProxyEnvironment(null));

        await xft.WaitForStderrAsync("Reconnecting to the XMPP server", s_cap);

        Assert.Contains(Information, await StopAsync(xft), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proxy_prints_no_information_line_when_its_environment_sets_the_default_level_to_warning()
    {
        using var server = new RefusingPort();
        await using XftProcess xft = StartProxy(server, ProxyEnvironment("Warning"));

        // The warning comes right before the Information line about reconnecting, and stopping logs another.
        await xft.WaitForStderrAsync("Connection to the XMPP server failed", s_cap);
        string stderr = await StopAsync(xft);

        Assert.Contains("warn:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Information, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proxy_logs_debug_lines_with_verbose_even_when_the_level_is_warning()
    {
        using var server = new RefusingPort();
        await using XftProcess xft = XftProcess.Start(
            [
                "proxy", "--component-jid", "proxy.logging.test", "--server", $"127.0.0.1:{server.Port}",
                "--listen", "127.0.0.1:0", "--public-host", "127.0.0.1", "--verbose",
            ],
            ProxyEnvironment("Warning"));

        await xft.WaitForStderrAsync("Reconnecting to the XMPP server", s_cap);

        Assert.Contains(Information, await StopAsync(xft), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_logs_information_lines_when_no_level_is_configured()
    {
        string data = Directory.CreateTempSubdirectory("xft-server-logging-").FullName;
        try
        {
            await using XftProcess xft = StartServer(data);

            await xft.WaitForStderrAsync("listening for", s_cap);

            Assert.Contains(Information, await StopAsync(xft), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Theory]
    [InlineData("--set")]
    [InlineData("server.json")]
    public async Task The_server_prints_no_information_line_when_its_settings_set_the_default_level_to_warning(string source)
    {
        string data = Directory.CreateTempSubdirectory("xft-server-logging-").FullName;
        try
        {
            string[] extra = [];
            if (source == "--set")
            {
                extra = ["--set", "Logging:LogLevel:Default=Warning"];
            }
            else
            {
                await File.WriteAllTextAsync(Path.Combine(data, "server.json"), """{ "Logging": { "LogLevel": { "Default": "Warning" } } }""");
            }

            await using XftProcess xft = StartServer(data, extra);

            // The banner follows the Information lines about the listeners.
            await WaitForBannerAsync(xft);
            string stderr = await StopAsync(xft);

            Assert.DoesNotContain(Information, stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_proxy_level_that_is_not_a_log_level_is_a_one_line_usage_error_before_anything_starts()
    {
        using var server = new RefusingPort();
        await using XftProcess xft = StartProxy(server, ProxyEnvironment("Loud"));

        int exit = await xft.WaitForExitAsync(s_cap);

        Assert.Equal(2, exit);
        Assert.Contains("xft: Invalid logging setting in the configuration:", xft.StandardError, StringComparison.Ordinal);
        Assert.Contains("Loud", xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", xft.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_level_that_is_not_a_log_level_is_a_one_line_usage_error_before_anything_starts()
    {
        string data = Directory.CreateTempSubdirectory("xft-server-logging-").FullName;
        try
        {
            await using XftProcess xft = StartServer(data, "--set", "Logging:LogLevel:Default=Loud");

            int exit = await xft.WaitForExitAsync(s_cap);

            Assert.Equal(2, exit);
            Assert.Contains("xft: Invalid logging setting in the configuration:", xft.StandardError, StringComparison.Ordinal);
            Assert.Contains("Loud", xft.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", xft.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>What the Generic Host's console lifetime prints at start and stop unless told not to.</summary>
    private static readonly string[] s_hostingLifetimeLines =
    [
        "Application started", "Press Ctrl+C to shut down", "Hosting environment:", "Content root path:", "Application is shutting down",
    ];

    [Fact]
    public async Task The_server_prints_its_own_start_up_lines_but_not_the_hosting_lifetime_lines()
    {
        string data = Directory.CreateTempSubdirectory("xft-server-logging-").FullName;
        try
        {
            await using XftProcess xft = StartServer(data);

            await WaitForBannerAsync(xft);
            string stderr = await StopAsync(xft);

            Assert.Contains("listening for c2s on 127.0.0.1:", stderr, StringComparison.Ordinal);
            Assert.Contains("clients     127.0.0.1:", xft.StandardOutput, StringComparison.Ordinal);
            foreach (string line in s_hostingLifetimeLines)
            {
                Assert.DoesNotContain(line, stderr, StringComparison.Ordinal);
                Assert.DoesNotContain(line, xft.StandardOutput, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task The_proxy_prints_its_own_lines_and_warnings_but_not_the_hosting_lifetime_lines()
    {
        using var server = new RefusingPort();
        await using XftProcess xft = StartProxy(server, ProxyEnvironment(null));

        // The proxy listens, then warns that the XMPP server refused it: our lines and a real warning, both kept.
        await xft.WaitForStderrAsync("Reconnecting to the XMPP server", s_cap);
        string stderr = await StopAsync(xft);

        Assert.Contains("warn:", stderr, StringComparison.Ordinal);
        Assert.Contains("listening on 127.0.0.1:", stderr, StringComparison.Ordinal);
        foreach (string line in s_hostingLifetimeLines)
        {
            Assert.DoesNotContain(line, stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(line, xft.StandardOutput, StringComparison.Ordinal);
        }
    }
}
