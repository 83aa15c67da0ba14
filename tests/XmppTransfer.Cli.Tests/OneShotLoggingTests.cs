using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The real binary: the one-shot commands (here <c>xft disco</c>) take their log levels from the <c>XFT_</c> environment.</summary>
[Collection(CliCollection.Name)]
public sealed class OneShotLoggingTests(CliServerFixture fixture)
{
    private const string Information = "info:";
    private const string Connected = "Connected and bound as alice@cli.test/";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    private Task<(int ExitCode, string Stdout, string Stderr)> DiscoAsync(string? level, params string[] extra)
    {
        Dictionary<string, string> environment = CliServerFixture.Password(CliServerFixture.AlicePassword);
        if (level is not null)
        {
            environment["XFT_Logging__LogLevel__Default"] = level;
        }

        return XftProcess.RunAsync(["disco", .. fixture.Connection("alice", "log" + Guid.NewGuid().ToString("N")[..8]), "--json", .. extra], environment, s_cap);
    }

    [Fact]
    public async Task Disco_prints_no_information_line_when_no_level_is_configured()
    {
        var (exit, _, stderr) = await DiscoAsync(level: null);

        Assert.True(exit == 0, stderr);
        Assert.DoesNotContain(Information, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disco_logs_information_lines_when_its_environment_sets_the_default_level_to_information()
    {
        var (exit, _, stderr) = await DiscoAsync("Information");

        Assert.True(exit == 0, stderr);
        Assert.Contains(Information, stderr, StringComparison.Ordinal);
        Assert.Contains(Connected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disco_logs_information_lines_with_verbose_even_when_the_level_is_none()
    {
        var (exit, _, stderr) = await DiscoAsync("None", "--verbose");

        Assert.True(exit == 0, stderr);
        Assert.Contains(Connected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_level_in_the_environment_that_is_not_a_log_level_is_a_usage_error()
    {
        var (exit, _, stderr) = await DiscoAsync("Loud");

        Assert.Equal(2, exit);
        Assert.Contains("xft: Invalid logging setting in the environment:", stderr, StringComparison.Ordinal);
        Assert.Contains("Loud", stderr, StringComparison.Ordinal);
    }
}
