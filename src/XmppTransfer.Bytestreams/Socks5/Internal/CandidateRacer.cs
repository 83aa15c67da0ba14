using System.Net.Sockets;
using System.Text;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// The target's connection race (PROTOCOLS.md §4.5, pitfall 13): candidates start in offer order, the next one after
/// <c>stagger</c> or as soon as an earlier one fails, each bounded by its own timeout; the first SOCKS5 success wins and
/// every other attempt is cancelled and closed.
/// </summary>
internal static class CandidateRacer
{
    /// <summary>A successful connection to one of the candidates.</summary>
    internal sealed record Winner(StreamHost Host, NetworkStream Stream);

    /// <summary>
    /// Races <paramref name="candidates"/> and returns the first that completes the SOCKS5 handshake for <paramref name="dstAddr"/>.
    /// Throws a <see cref="BytestreamException"/> listing each failure when none works or <paramref name="overall"/> passes.
    /// </summary>
    public static async Task<Winner> RaceAsync(
        IReadOnlyList<StreamHost> candidates,
        string dstAddr,
        Func<StreamHost, TimeSpan> timeoutFor,
        TimeSpan stagger,
        TimeSpan overall,
        int socketBufferSize,
        CancellationToken cancellationToken)
    {
        if (candidates.Count == 0)
        {
            throw new BytestreamException(BytestreamErrorKind.Refused, "No streamhost to connect to.");
        }

        using var race = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        race.CancelAfter(overall);
        var running = new List<Task<Attempt>>();
        var failures = new StringBuilder();
        var next = 0;
        Task? staggerDelay = null;
        Winner? winner = null;
        try
        {
            while (winner is null && (next < candidates.Count || running.Count > 0))
            {
                if (race.IsCancellationRequested && running.Count == 0)
                {
                    break;
                }

                if (next < candidates.Count && !race.IsCancellationRequested && (running.Count == 0 || staggerDelay is { IsCompleted: true }))
                {
                    running.Add(TryAsync(candidates[next++], dstAddr, timeoutFor, socketBufferSize, race.Token));
                    staggerDelay = next < candidates.Count ? Task.Delay(stagger, race.Token) : null;
                    continue;
                }

                var finished = staggerDelay is null
                    ? await Task.WhenAny(running).ConfigureAwait(false)
                    : await Task.WhenAny([.. running, staggerDelay]).ConfigureAwait(false);
                if (finished == staggerDelay)
                {
                    if (race.IsCancellationRequested)
                    {
                        // The overall timeout or the caller: the attempts end through the same token.
                        staggerDelay = null;
                    }

                    continue;
                }

                var attempt = (Task<Attempt>)finished;
                running.Remove(attempt);
                var result = await attempt.ConfigureAwait(false);
                if (result.Stream is not null)
                {
                    winner = new Winner(result.Host, result.Stream);
                }
                else
                {
                    failures.Append(failures.Length == 0 ? "" : "; ").Append(result.Error);
                    if (next < candidates.Count && !race.IsCancellationRequested)
                    {
                        // A failure frees the slot at once: a dead candidate must not hold up the next one.
                        running.Add(TryAsync(candidates[next++], dstAddr, timeoutFor, socketBufferSize, race.Token));
                        staggerDelay = next < candidates.Count ? Task.Delay(stagger, race.Token) : null;
                    }
                }
            }
        }
        finally
        {
            await race.CancelAsync().ConfigureAwait(false);
            foreach (var loser in await Task.WhenAll(running).ConfigureAwait(false))
            {
                if (loser.Stream is not null)
                {
                    await loser.Stream.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (staggerDelay is not null)
            {
                await staggerDelay.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                    .ConfigureAwait(false);
            }
        }

        if (winner is not null)
        {
            return winner;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var timedOut = race.IsCancellationRequested && failures.ToString().Contains("abandoned", StringComparison.Ordinal);
        if (next < candidates.Count)
        {
            failures.Append(failures.Length == 0 ? "" : "; ").Append(candidates.Count - next).Append(" candidate(s) not tried");
        }

        throw new BytestreamException(
            timedOut ? BytestreamErrorKind.Timeout : BytestreamErrorKind.Refused,
            timedOut ? $"No streamhost was reached within {overall.TotalSeconds:0.#} s: {failures}." : $"No streamhost could be reached: {failures}.");
    }

    private static async Task<Attempt> TryAsync(
        StreamHost host, string dstAddr, Func<StreamHost, TimeSpan> timeoutFor, int socketBufferSize, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await Socks5Dialer.ConnectAsync(host.Host, host.Port, dstAddr, timeoutFor(host), socketBufferSize, cancellationToken)
                .ConfigureAwait(false);
            return new Attempt(host, stream, null);
        }
        catch (OperationCanceledException)
        {
            return new Attempt(host, null, $"{host.Jid} at {host.Host}:{host.Port}: abandoned");
        }
        catch (BytestreamException ex)
        {
            return new Attempt(host, null, $"{host.Jid} at {ex.Message}");
        }
    }

    private sealed record Attempt(StreamHost Host, NetworkStream? Stream, string? Error);
}
