using System.CommandLine;
using XmppTransfer.Cli;
using XmppTransfer.Cli.Output;

if (args.Length == 0)
{
    // Bare `xft`: the help, which lists the commands, rather than the parser's "Required command was not provided."; on
    // stdout, as git and dotnet print theirs (it is what was asked for, and reads through `xft | less`), with exit code 2
    // since no command ran.
    await XftCommandLine.Create().Parse(["--help"]).InvokeAsync();
    return ExitCodes.Usage;
}

var parse = XftCommandLine.Create().Parse(args);
var errors = ParseErrorText.Lines(parse);
if (errors.Count > 0)
{
    foreach (var line in errors)
    {
        await Console.Error.WriteLineAsync(line);
    }

    return ExitCodes.Usage;
}

// xft handles SIGINT, SIGTERM and SIGQUIT itself (TerminationSignals); System.CommandLine must not, or it ends the process 2 s
// after the first signal, whatever is still draining.
using var signals = new TerminationSignals(Console.Error);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
