using System.Runtime.InteropServices;

namespace XmppTransfer.Cli;

/// <summary>
/// The one place xft handles SIGINT (Ctrl-C), SIGTERM and SIGQUIT (Ctrl-\). The first signal cancels <see cref="Token"/>:
/// a transfer is cancelled cleanly (the peer is told, the part kept), <c>xft proxy</c> and <c>xft server</c> stop and
/// drain, for as long as their own documented drain takes. A second signal while that runs ends the process at once with
/// 130 (SIGINT), 143 (SIGTERM) or 131 (SIGQUIT), the codes a shell reports for a process those signals killed.
/// </summary>
/// <remarks>
/// SIGQUIT drains like SIGTERM, as nginx's "graceful shutdown" does, rather than dumping core (its default action): the
/// .NET runtime prints no thread dump for it (it raises it as Ctrl-Break to <c>Console.CancelKeyPress</c>, or dies with
/// a core dump when nothing handles it), and before this it was swallowed, so Ctrl-\ or <c>kill -QUIT</c> did nothing.
/// A dump is what <c>dotnet-dump</c> is for.
/// <para>
/// Neither System.CommandLine nor the Generic Host may handle these signals as well: System.CommandLine ends the process
/// two seconds after the first one (its ProcessTerminationTimeout), cutting every drain short, and the host's console
/// lifetime swallows the second one.
/// </para>
/// </remarks>
internal sealed class TerminationSignals : IDisposable
{
    private const int SigintExitCode = 130;
    private const int SigtermExitCode = 143;
    private const int SigquitExitCode = 131;

    /// <summary>How long the second signal's line may take to reach stderr before the process exits without it.</summary>
    private static readonly TimeSpan s_noticeGrace = TimeSpan.FromMilliseconds(200);
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private readonly PosixSignalRegistration _sigquit;
    private readonly TextWriter _error;
    private int _signals;

    public TerminationSignals(TextWriter error)
    {
        _error = error;
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
    }

    /// <summary>Cancelled by the first SIGINT, SIGTERM or SIGQUIT.</summary>
    public CancellationToken Token => _cancel.Token;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _sigquit.Dispose();
        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            // Cancelling runs the token's callbacks (a host's stop among them) synchronously: off the signal thread, which
            // must stay free to take a second signal.
            _ = Task.Run(CancelQuietly);
            return;
        }

        (int code, string what) = context.Signal switch
        {
            PosixSignal.SIGINT => (SigintExitCode, "interrupted"),
            PosixSignal.SIGQUIT => (SigquitExitCode, "quit"),
            _ => (SigtermExitCode, "terminated"),
        };
        var line = $"xft: {what} again, stopping at once without finishing.";

        _ = TryNotify(_error, line, s_noticeGrace);
        Environment.Exit(code);
    }

    /// <summary>
    /// Writes <paramref name="line"/> to <paramref name="error"/> on a thread of its own and waits <paramref name="grace"/>
    /// at most: true when it was written in time. stderr may be a pipe nobody reads any more, where a write blocks (and
    /// the output writer may already be stuck on the same pipe); a second signal must end the process whatever stderr does.
    /// </summary>
    internal static bool TryNotify(TextWriter error, string line, TimeSpan grace)
    {
        var written = 0;
        var notice = new Thread(() =>
        {
            try
            {
                error.WriteLine(line);
                error.Flush();
                Volatile.Write(ref written, 1);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // stderr is gone (a closed pipe): the process exits all the same.
            }
        })
        {
            IsBackground = true,
            Name = "xft second-signal notice",
        };
        notice.Start();
        return notice.Join(grace) && Volatile.Read(ref written) == 1;
    }

    private void CancelQuietly()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Main finished and disposed the source meanwhile: nothing is left to cancel.
        }
    }
}
