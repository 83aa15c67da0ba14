using XmppTransfer.Core;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>Runs a command body and turns failures into one clear line on stderr and the right exit code.</summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(bool verbose, Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("xft: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync("xft: " + ErrorText.Line(ex.Message));
            return ExitCodes.Usage;
        }
        catch (ArgumentException ex) when (ex is not ArgumentNullException)
        {
            // What the libraries reject as an argument came from the command line or a settings file (a certificate pin, a
            // user name): a usage error, worded without the C# parameter name. A null argument is never the user's doing
            // (the parser gives none) but a bug of ours, reported as one below.
            await Console.Error.WriteLineAsync("xft: " + (verbose ? ex.ToString() : ErrorText.Of(ex)));
            return ExitCodes.Usage;
        }
        catch (FileTransferException ex) when (ex.ErrorKind == FileTransferErrorKind.Declined)
        {
            await Console.Error.WriteLineAsync("xft: " + ErrorText.Line(ex.Message));
            return ExitCodes.Declined;
        }
        catch (Exception ex) when (ex is XmppException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("xft: " + (verbose ? ex.ToString() : ErrorText.Line(ex.Message)));
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            // A bug of ours: still one line and exit code 1 rather than the runtime's crash report, with where it happened
            // under --verbose.
            await Console.Error.WriteLineAsync($"xft: unexpected {ex.GetType().Name}: " + (verbose ? ex.ToString() : ex.Message + " (--verbose shows where)"));
            return ExitCodes.Failed;
        }
    }
}
