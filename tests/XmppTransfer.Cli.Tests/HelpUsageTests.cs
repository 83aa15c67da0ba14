using System.CommandLine;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Tests;

/// <summary>Help lists every command with the arity of its arguments, as the command's own usage line shows them.</summary>
public sealed class HelpUsageTests
{
    private static string Help(params string[] args)
    {
        using var output = new StringWriter();
        var exit = XftCommandLine.Create().Parse([.. args, "--help"]).Invoke(new InvocationConfiguration { Output = output });
        Assert.Equal(0, exit);
        return output.ToString();
    }

    [Fact]
    public void The_root_help_shows_the_jid_of_disco_as_optional_and_the_files_of_send_as_one_or_more()
    {
        var lines = Help().Split('\n').Select(l => l.TrimEnd()).ToList();

        Assert.Contains(lines, l => l.StartsWith("  disco [<JID>]  ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  send <TO> <FILE>...  ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("  disco <JID>", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("disco")]
    [InlineData("send")]
    [InlineData("receive")]
    [InlineData("proxy")]
    [InlineData("server")]
    [InlineData("demo")]
    [InlineData("server add-user")]
    [InlineData("server passwd")]
    [InlineData("server remove-user")]
    public void Every_command_is_listed_in_its_parents_help_as_its_own_usage_line_shows_it(string path)
    {
        var names = path.Split(' ');
        var usage = Help(names).Split('\n').Select(l => l.Trim()).SkipWhile(l => l != "Usage:").ElementAt(1);

        // "xft server add-user <USER> [options]" -> "add-user <USER>": the command's name and arguments in its own words.
        // The root is named after the process (the test host here).
        var parents = string.Join(' ', [XftCommandLine.Create().Name, .. names[..^1]]) + " ";
        Assert.StartsWith(parents, usage, StringComparison.Ordinal);
        var ownWords = usage[parents.Length..]
            .Replace(" [command]", string.Empty, StringComparison.Ordinal)
            .Replace(" [options]", string.Empty, StringComparison.Ordinal);
        var row = Help(names[..^1]).Split('\n').Single(l => l.StartsWith("  " + names[^1] + " ", StringComparison.Ordinal));

        Assert.StartsWith("  " + ownWords + "  ", row, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrapped_list_of_subcommands_keeps_every_description_in_its_column()
    {
        var root = XftCommandLine.Create();
        var help = "Commands:\n  disco <JID>  old\n  send <TO> <FILE>  old\n  receive  old\n  proxy  old\n  server  old\n  demo  old\n\nNext:\n";

        var lines = HelpUsage.ListSubcommands(help, root, maxWidth: 60).Split('\n');

        var demo = Array.FindIndex(lines, l => l.StartsWith("  demo ", StringComparison.Ordinal));
        var column = "  send <TO> <FILE>...  ".Length;
        Assert.Equal(column, lines[1].IndexOf("Show what", StringComparison.Ordinal));
        Assert.All(lines.Skip(1).TakeWhile(l => l.Length > 0), l => Assert.True(l.Length <= 60, l));
        Assert.True(lines[demo + 1].StartsWith(new string(' ', column), StringComparison.Ordinal) && lines[demo + 1][column] != ' ', lines[demo + 1]);
        Assert.Equal(["", "Next:", ""], lines[^3..]);
    }
}
