using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Tests;

/// <summary>Which failures are the user's (exit code 2) and which are ours or the world's (exit code 1).</summary>
public sealed class CommandRunnerTests
{
    private static async Task<(int Exit, string Error)> RunAsync(Exception thrown, bool? verbose = false)
    {
        using var error = new StringWriter();
        var exit = await CommandRunner.RunAsync(verbose, () => Task.FromException<int>(thrown), error, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return (exit, error.ToString());
    }

    [Fact]
    public async Task A_usage_exception_is_exit_code_2_in_one_line()
    {
        var (exit, error) = await RunAsync(new UsageException("--count must be at least 1."));

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal("xft: --count must be at least 1." + Environment.NewLine, error);
    }

    public static TheoryData<Exception> LibraryRefusals =>
    [
        new ArgumentException("A library refused a value it was handed.", "value"),
        new ArgumentOutOfRangeException("value", "A library refused a value it was handed."),
    ];

    [Theory]
    [MemberData(nameof(LibraryRefusals))]
    public async Task An_argument_exception_from_a_library_is_an_internal_error_with_exit_code_1(Exception thrown)
    {
        var (exit, error) = await RunAsync(thrown);

        Assert.Equal(ExitCodes.Failed, exit);
        Assert.StartsWith($"xft: unexpected {thrown.GetType().Name}: A library refused a value it was handed.", error, StringComparison.Ordinal);
        Assert.Contains("(--verbose shows where)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_internal_error_of_a_command_without_verbose_points_at_no_verbose_option()
    {
        var (exit, error) = await RunAsync(new InvalidOperationException("A bug of ours."), verbose: null);

        Assert.Equal(ExitCodes.Failed, exit);
        Assert.Equal("xft: unexpected InvalidOperationException: A bug of ours." + Environment.NewLine, error);
    }
}
