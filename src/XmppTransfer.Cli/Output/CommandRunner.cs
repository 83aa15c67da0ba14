using XmppTransfer.Core;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>Runs a command body and turns failures into one clear line on stderr and the right exit code.</summary>
internal static class CommandRunner
{
    /// <summary>Runs <paramref name="body"/>, writing its failure to stderr.</summary>
    /// <param name="verbose">
    /// The command's <c>--verbose</c>, or null for a command that has none (<c>server add-user</c>, <c>passwd</c>,
    /// <c>remove-user</c>): an unexpected error then does not point at an option the command would refuse.
    /// </param>
    /// <param name="body">The command.</param>
    /// <param name="cancellationToken">The command's token: cancelled by Ctrl-C or SIGTERM (exit code 130).</param>
    public static Task<int> RunAsync(bool? verbose, Func<Task<int>> body, CancellationToken cancellationToken) =>
        RunAsync(verbose, body, Console.Error, cancellationToken);

    /// <summary>The same, writing the line to <paramref name="error"/> (stderr in the program, a buffer in tests).</summary>
    public static async Task<int> RunAsync(bool? verbose, Func<Task<int>> body, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("xft: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (UsageException ex)
        {
            // The only usage error besides the parser's: a command that finds its input wrong says so in a UsageException,
            // checked before the input reaches a library. An ArgumentException escaping a library is not one: the library
            // was handed something we should have refused first, or misused; it is reported as the bug it is, below.
            await error.WriteLineAsync("xft: " + ErrorText.Line(ex.Message));
            return ExitCodes.Usage;
        }
        catch (FileTransferException ex) when (ex.ErrorKind == FileTransferErrorKind.Declined)
        {
            await error.WriteLineAsync("xft: " + ErrorText.Line(ex.Message));
            return ExitCodes.Declined;
        }
        catch (Exception ex) when (ex is XmppException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync("xft: " + (verbose == true ? ex.ToString() : ErrorText.Line(ex.Message)));
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            // A bug of ours: still one line and exit code 1 rather than the runtime's crash report, with where it happened
            // under --verbose.
            var detail = verbose switch
            {
                true => ex.ToString(),
                false => ex.Message + " (--verbose shows where)",
                null => ex.Message,
            };
            await error.WriteLineAsync($"xft: unexpected {ex.GetType().Name}: " + detail);
            return ExitCodes.Failed;
        }
    }
}
