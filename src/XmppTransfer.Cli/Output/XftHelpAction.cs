using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The help of every command: System.CommandLine's own, with the list of subcommands showing each argument's arity
/// (<see cref="HelpUsage"/>).
/// </summary>
internal sealed class XftHelpAction(HelpAction builtIn) : SynchronousCommandLineAction
{
    /// <summary>As the built-in help: <c>xft send --help</c> shows help even though TO and FILE are missing.</summary>
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        var configuration = parseResult.InvocationConfiguration;
        var output = configuration.Output;
        using var buffer = new StringWriter();
        configuration.Output = buffer;
        int exit;
        try
        {
            exit = builtIn.Invoke(parseResult);
        }
        finally
        {
            configuration.Output = output;
        }

        output.Write(HelpUsage.ListSubcommands(buffer.ToString(), parseResult.CommandResult.Command, builtIn.MaxWidth));
        return exit;
    }
}
