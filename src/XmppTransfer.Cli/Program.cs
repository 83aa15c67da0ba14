using System.CommandLine;
using XmppTransfer.Cli;
using XmppTransfer.Cli.Commands;

var root = new RootCommand("xft: send and receive files over XMPP, discover services, and run a SOCKS5 proxy or a small XMPP server.")
{
    DiscoCommand.Create(),
    SendCommand.Create(),
    ReceiveCommand.Create(),
    ProxyCommand.Create(),
    ServerCommand.Create(),
    DemoCommand.Create(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        await Console.Error.WriteLineAsync("xft: " + error.Message);
    }

    await Console.Error.WriteLineAsync("Try 'xft --help' or 'xft <command> --help'.");
    return ExitCodes.Usage;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl-C cancels the transfer cleanly (the peer is told); a second one kills the process.
    if (!cancel.IsCancellationRequested)
    {
        e.Cancel = true;
        cancel.Cancel();
    }
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    try
    {
        // Cancel runs the host's stop synchronously; Main may finish and dispose the source before it returns.
        cancel.Cancel();
    }
    catch (ObjectDisposedException)
    {
    }
});

return await parse.InvokeAsync(new InvocationConfiguration(), cancel.Token);
