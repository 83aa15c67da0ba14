using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace XmppTransfer.Cli;

/// <summary>
/// The host lifetime of <c>xft proxy</c> and <c>xft server</c> in place of the Generic Host's console lifetime: it
/// handles no signal and prints no status line. Their hosts stop when the command's token is cancelled, which
/// <see cref="TerminationSignals"/> does on the first SIGINT, SIGTERM or SIGQUIT; the console lifetime would also claim every
/// later signal, so a second one could never end a drain that takes too long. Without it the host's status lines
/// ("Application started. Press Ctrl+C to shut down.", the content root, …) are not written either.
/// </summary>
internal sealed class SignalFreeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Registers the lifetime on <paramref name="services"/>, replacing the console lifetime the builder added.</summary>
    public static void Use(IServiceCollection services) => services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
}
