using System.CommandLine;
using System.CommandLine.Help;
using XmppTransfer.Cli.Commands;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli;

/// <summary>The command tree of <c>xft</c>, built in one place for the program and for the tests of its help.</summary>
internal static class XftCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("xft: send and receive files over XMPP, discover services, and run a SOCKS5 proxy or a small XMPP server.")
        {
            DiscoCommand.Create(),
            SendCommand.Create(),
            ReceiveCommand.Create(),
            ProxyCommand.Create(),
            ServerCommand.Create(),
            DemoCommand.Create(),
        };

        // The help option is recursive: its one action writes the help of every command.
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new XftHelpAction((HelpAction)help.Action!);
        return root;
    }
}
