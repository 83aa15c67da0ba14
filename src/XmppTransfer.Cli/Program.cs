using System.CommandLine;
using XmppTransfer.Cli;
using XmppTransfer.Cli.Output;

var parse = XftCommandLine.Create().Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var line in ParseErrorText.Lines(parse))
    {
        await Console.Error.WriteLineAsync(line);
    }

    return ExitCodes.Usage;
}

// xft handles SIGINT and SIGTERM itself (TerminationSignals); System.CommandLine must not, or it ends the process 2 s
// after the first signal, whatever is still draining.
using var signals = new TerminationSignals(Console.Error);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
