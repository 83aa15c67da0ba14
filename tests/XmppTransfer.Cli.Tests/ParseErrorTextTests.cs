using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Tests;

/// <summary>What xft prints when the parser rejects the command line: one line for an unknown word, with a near miss.</summary>
public sealed class ParseErrorTextTests
{
    private static IReadOnlyList<string> Lines(params string[] args) => ParseErrorText.Lines(XftCommandLine.Create().Parse(args));

    [Theory]
    [InlineData("discover", "xft: 'discover' is not an xft command. Did you mean 'disco'?")]
    [InlineData("recieve", "xft: 'recieve' is not an xft command. Did you mean 'receive'?")]
    [InlineData("sned", "xft: 'sned' is not an xft command. Did you mean 'send'?")]
    [InlineData("prxy", "xft: 'prxy' is not an xft command. Did you mean 'proxy'?")]
    public void A_near_miss_of_a_command_is_one_line_that_names_the_command_meant(string typed, string expected) =>
        Assert.Equal([expected], Lines(typed));

    [Fact]
    public void A_near_miss_of_an_option_names_the_option_meant()
    {
        Assert.Equal(["xft: '--jsno' is not an option of 'xft demo'. Did you mean '--json'?"], Lines("demo", "--jsno"));
        Assert.Equal(["xft: '--verbos' is not an option of 'xft server'. Did you mean '--verbose'?"], Lines("server", "--verbos=1"));
    }

    [Theory]
    [InlineData("send", "--verbos", "alice@example.test", "file")]
    [InlineData("send", "alice@example.test", "--verbos", "file")]
    [InlineData("send", "alice@example.test", "file", "--verbos=1")]
    public void A_mistyped_option_where_an_argument_may_stand_is_named_with_the_option_meant_not_taken_as_the_argument(params string[] args) =>
        Assert.Equal(["xft: '--verbos' is not an option of 'xft send'. Did you mean '--verbose'?"], Lines(args));

    [Fact]
    public void An_unknown_dash_word_far_from_every_option_says_an_argument_like_it_goes_after_the_double_dash() =>
        Assert.Equal(
            ["xft: '-notes.txt' is not an option of 'xft send'; an argument that starts with '-' goes after '--' (xft send ... -- -notes.txt); see 'xft send --help'."],
            Lines("send", "alice@example.test", "-notes.txt"));

    [Theory]
    [InlineData("send", "alice@example.test", "--", "-x")]
    [InlineData("send", "alice@example.test", "-5")]
    [InlineData("send", "alice@example.test", "-")]
    [InlineData("send", "alice@example.test", "file", "--desc", "-x-")]
    [InlineData("receive", "--out", "in", "--offer-timeout", "-5")]
    [InlineData("send", "--verbos", "--help")]
    public void A_dash_word_after_the_double_dash_a_negative_number_an_options_value_or_a_help_request_is_no_parse_error(params string[] args) =>
        Assert.Empty(Lines(args));

    [Fact]
    public void A_word_far_from_every_command_gets_no_guess_but_the_help_to_read() =>
        Assert.Equal(["xft: 'frobnicate' is not an xft command; see 'xft --help'."], Lines("frobnicate"));

    [Fact]
    public void An_argument_too_many_is_named_with_the_commands_help()
    {
        Assert.Equal(["xft: 'extra' is one argument too many for 'xft disco'; see 'xft disco --help'."], Lines("disco", "a.example", "extra"));
        Assert.Equal(["xft: 'xft demo' takes no arguments, not 'extra'; see 'xft demo --help'."], Lines("demo", "extra"));
    }

    [Fact]
    public void Other_parse_errors_are_printed_with_the_help_of_their_command()
    {
        var lines = Lines("receive", "--count", "many");

        Assert.Equal("Try 'xft receive --help'.", lines[^1]);
        Assert.All(lines.SkipLast(1), l => Assert.StartsWith("xft: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("many", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("recieve", "receive", 1)]
    [InlineData("sned", "send", 1)]
    [InlineData("disco", "disco", 0)]
    [InlineData("Server:Proxy:Prot", "Server:Proxy:Port", 1)]
    [InlineData("kitten", "sitting", 3)]
    public void The_distance_counts_each_typo_once_a_swap_included(string a, string b, int expected) =>
        Assert.Equal(expected, NearMiss.Distance(a, b));

    [Fact]
    public void Near_misses_ignore_case_prefer_the_closest_and_ignore_prefixes_too_short_to_say_anything()
    {
        Assert.Equal(["Server:Domain"], NearMiss.Find("server:domian", ["Server:Listen", "Server:Domain"]));
        Assert.Equal(["send"], NearMiss.Find("sen", ["send", "server"]));
        Assert.Empty(NearMiss.Find("s", ["send", "server"]));
        Assert.Empty(NearMiss.Find("help", ["send", "server", "disco"]));
    }
}
