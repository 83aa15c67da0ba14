using System.CommandLine;
using System.CommandLine.Parsing;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// What xft prints on stderr when the parser rejects the command line (exit code 2). A word it does not know is reported
/// alone, in one line, with a "did you mean" for a near miss: the parser's own errors for it come in twos ("Required
/// command was not provided." beside "Unrecognized command or argument 'discover'."), and whatever else they say follows
/// from the same typo. Other errors are printed as the parser words them, followed by where to find help.
/// </summary>
internal static class ParseErrorText
{
    /// <summary>The lines to print for <paramref name="parse"/>; empty when the command line is fine.</summary>
    public static IReadOnlyList<string> Lines(ParseResult parse)
    {
        var path = CommandPath(parse.CommandResult);
        if (parse.UnmatchedTokens.Count > 0)
        {
            return ["xft: " + Unknown(parse.UnmatchedTokens[0], parse.CommandResult, path)];
        }

        // Before the parser's own errors: a mistyped option taken as TO makes it report the FILE it then lacks.
        if (parse.Action is not XftHelpAction && StrayOption(parse) is { } stray)
        {
            return ["xft: " + Stray(stray, parse.CommandResult, path)];
        }

        return parse.Errors.Count == 0 ? [] : [.. parse.Errors.Select(e => "xft: " + ErrorText.Line(e.Message)).Distinct(), $"Try '{path} --help'."];
    }

    /// <summary>
    /// The first word that looks like an option but was taken as one of the command's arguments: the parser takes any word
    /// it does not know as an argument, so <c>xft send --verbos alice@x f</c> would send to "--verbos". Words after
    /// <c>--</c> are arguments whatever they look like (a file named <c>-x</c>), and so are negative numbers, which no
    /// option's name looks like; an option's own value (<c>--desc -hello-</c>) is not a command argument and is not looked at.
    /// </summary>
    private static string? StrayOption(ParseResult parse)
    {
        var tokens = parse.Tokens;
        var doubleDash = tokens.Select((t, i) => (t, i)).FirstOrDefault(x => x.t.Type == TokenType.DoubleDash, (null!, tokens.Count)).i;
        foreach (var argument in parse.CommandResult.Children.OfType<ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                var at = IndexOf(tokens, token);
                if (at >= 0 && at < doubleDash && LooksLikeOption(token.Value))
                {
                    return token.Value;
                }
            }
        }

        return null;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary><c>-x</c>, <c>--name</c>, <c>--name=value</c>; not <c>-</c> (stdin, by custom) nor <c>-5</c> or <c>-.5</c>.</summary>
    private static bool LooksLikeOption(string word) =>
        word.Length > 1 && word[0] == '-' && !char.IsAsciiDigit(word[1]) && !(word[1] == '.' && word.Length > 2 && char.IsAsciiDigit(word[2]));

    /// <summary>As <see cref="Unknown"/> for an option, and, with no near miss, how to give such a word as an argument.</summary>
    private static string Stray(string token, CommandResult where, string path)
    {
        var name = token.Split('=', 2)[0];
        return NearMiss.Find(name, OptionNames(where)).Count > 0
            ? Unknown(token, where, path)
            : $"'{name}' is not an option of '{path}'; an argument that starts with '-' goes after '--' ({path} ... -- {token}); see '{path} --help'.";
    }

    private static string Unknown(string token, CommandResult where, string path)
    {
        var command = where.Command;
        if (token.StartsWith('-'))
        {
            // "--verbos=1" is one token; the name is what is compared.
            var name = token.Split('=', 2)[0];
            return $"'{name}' is not an option of '{path}'" + Suggestion(name, OptionNames(where), path);
        }

        var subcommands = command.Subcommands.Where(c => !c.Hidden).ToList();
        if (subcommands.Count > 0)
        {
            var what = where.Parent is null ? "an xft command" : $"a command of '{path}'";
            return $"'{token}' is not {what}" + Suggestion(token, subcommands.SelectMany(c => c.Aliases.Prepend(c.Name)), path);
        }

        return command.Arguments.Count == 0
            ? $"'{path}' takes no arguments, not '{token}'; see '{path} --help'."
            : $"'{token}' is one argument too many for '{path}'; see '{path} --help'.";
    }

    private static string Suggestion(string typed, IEnumerable<string> candidates, string path) =>
        NearMiss.Find(typed, candidates) switch
        {
            [] => $"; see '{path} --help'.",
            [var one] => $". Did you mean '{one}'?",
            var several => $". Did you mean {string.Join(" or ", several.Select(s => $"'{s}'"))}?",
        };

    /// <summary>The options that apply at <paramref name="where"/>: its own and the recursive ones of the commands above it.</summary>
    private static IEnumerable<string> OptionNames(CommandResult where)
    {
        var options = new List<Option>(where.Command.Options);
        for (var parent = where.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            options.AddRange(parent.Command.Options.Where(o => o.Recursive));
        }

        return options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name));
    }

    /// <summary><c>xft server add-user</c>: the root is called xft whatever the executable's file name.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is CommandResult command; current = command.Parent)
        {
            names.Add(command.Parent is null ? "xft" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
