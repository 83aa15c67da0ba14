using System.CommandLine;
using System.Globalization;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Cli.Connection;
using XmppTransfer.Cli.Output;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;

namespace XmppTransfer.Cli.Commands;

/// <summary><c>xft receive --out DIR</c>: wait for file offers and save them.</summary>
internal static class ReceiveCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var output = new Option<string>("--out") { Description = "The folder to save files in (created if missing).", Required = true, HelpName = "DIR" };
        var acceptFrom = new Option<string[]>("--accept-from")
        {
            Description = "Only accept files from this JID (repeat for several). Others are declined.",
            HelpName = "JID",
            AllowMultipleArgumentsPerToken = false,
        };
        var count = new Option<int?>("--count") { Description = "Exit after receiving this many files.", HelpName = "N" };
        var timeout = new Option<double?>("--timeout")
        {
            Description = "Give up after this many seconds without the expected files, cancelling a transfer still running (exit 1).",
            HelpName = "SECONDS",
        };
        var offerTimeout = new Option<double?>("--offer-timeout")
        {
            Description = "Decline an offer left waiting this many seconds, e.g. behind a long transfer (default 120). "
                + "It is reported, not counted towards --count, and does not fail the command.",
            HelpName = "SECONDS",
        };
        var inactivityTimeout = new Option<double?>("--inactivity-timeout")
        {
            Description = "Fail a transfer when no data arrives for this many seconds (default 120 in-band and SOCKS5, 60 for out-of-band downloads).",
            HelpName = "SECONDS",
        };
        var maxSize = new Option<long?>("--max-size")
        {
            Description = "Decline files larger than this many bytes (0 accepts only empty files).",
            HelpName = "BYTES",
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing files instead of saving as 'name (1).ext'." };
        var decline = new Option<bool>("--decline") { Description = "Decline every offer (for testing senders)." };
        var s5bHost = SendCommand.HostOption();
        var allowPrivate = new Option<bool>("--allow-private-urls")
        {
            Description = "Allow out-of-band downloads from loopback and private (LAN) addresses; refused by default.",
        };
        var fetchLinks = new Option<bool>("--fetch-links")
        {
            Description = "Also download http(s) links that accepted senders share in messages (jabber:x:oob, e.g. HTTP upload).",
        };
        var noHash = new Option<bool>("--no-hash")
        {
            Description = "Do not compute SHA-256 of files offered without a hash (a hash the sender offers is always verified).",
        };
        var command = new Command("receive", "Wait for files sent to your account and save them in a folder.")
        {
            output, acceptFrom, count, timeout, offerTimeout, inactivityTimeout, maxSize, overwrite, decline, s5bHost, allowPrivate, fetchLinks, noHash,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var verbose = parse.GetValue(connection.Verbose);
            return CommandRunner.RunAsync(verbose, async () =>
            {
                // First, so disposed last: the lines of the client's and the logger's last events are written too. Log lines go
                // through it as well, above a live progress bar and in order with the notes.
                await using var lines = OrderedOutput.ForConsole();
                using var logging = CliLogging.Create(verbose, XftEnvironment.Current(), lines.Note);
                var allowed = new List<Jid>();
                foreach (var text in parse.GetValue(acceptFrom) ?? [])
                {
                    allowed.Add(Jid.TryParse(text, out var jid) ? jid : throw new UsageException($"--accept-from '{text}' is not a valid JID."));
                }

                var wanted = parse.GetValue(count);
                if (wanted is < 1)
                {
                    throw new UsageException("--count must be at least 1.");
                }

                var largest = parse.GetValue(maxSize);
                if (largest is < 0)
                {
                    throw new UsageException($"--max-size must be 0 or more bytes, not {largest}.");
                }

                var giveUpAfter = Seconds(parse, timeout);
                var offerWait = Seconds(parse, offerTimeout) ?? FileTransferOptions.Default.OfferTimeout;
                var silence = Seconds(parse, inactivityTimeout);
                var json = parse.GetValue(connection.Json);
                var directory = parse.GetRequiredValue(output);
                var options = connection.Build(parse, logging);
                var oob = OobOptions.Default with { AllowPrivateNetworks = parse.GetValue(allowPrivate), MaxDownloadBytes = largest };
                var transferOptions = new FileTransferOptions
                {
                    AcceptFrom = allowed,
                    MaxFileSize = largest,
                    OfferTimeout = offerWait,
                    Socks5 = SendCommand.BuildSocks5Options(parse.GetValue(s5bHost) ?? []),
                    Oob = oob,
                };
                if (silence is { } idle)
                {
                    // One silence for every way a file comes in: the user asks how long a stalled sender may hold us, not per method.
                    transferOptions = transferOptions with
                    {
                        Ibb = InBandBytestreamOptions.Default with { InactivityTimeout = idle },
                        Socks5InactivityTimeout = idle,
                        Oob = oob with { InactivityTimeout = idle },
                    };
                }

                // Checked before we log in: a folder we cannot write to would otherwise show up only when the first file came,
                // as a refusal the sender sees ("Cannot write here") while we had said we were waiting for files.
                PrepareFolder(directory);

                var manager = new FileTransferManager(transferOptions);

                // Declined on arrival by the manager (never queued): as before, neither one of --count nor a failure, but the
                // user and a script reading the lines learn of it. Raised on the XMPP read loop: only queued here (OrderedOutput),
                // so a reader that stops reading our output cannot stall the connection.
                var maxBytes = transferOptions.MaxFileSize;
                manager.OfferDeclined += declined =>
                {
                    var (reason, because) = declined.Reason switch
                    {
                        OfferDeclineReason.SenderNotAccepted => ("sender not in --accept-from", $"{declined.From.Bare} is not in --accept-from"),
                        OfferDeclineReason.TooLarge => ("larger than --max-size", string.Create(
                            CultureInfo.InvariantCulture, $"{declined.File.Size} bytes is larger than --max-size {maxBytes}")),
                        _ => (declined.Reason.ToString(), declined.Reason.ToString()),
                    };
                    if (json)
                    {
                        var attempt = new TransferAttempt(declined.SafeName, KnownSize(declined.File.Size), declined.From.ToString(), declined.Sid);
                        lines.Result(TransferJson.Declined(attempt, reason, "declined: " + because));
                    }

                    // Worded as --decline's line, with why.
                    lines.Note($"xft: declined {declined.SafeName} from {declined.From}: {because}");
                };

                await using var client = new XmppClient(options);
                client.AddExtension(manager);
                await client.ConnectAsync(cancellationToken);
                await Console.Error.WriteLineAsync($"xft: waiting for files as {client.BoundJid}; saving in {Path.GetFullPath(directory)}");

                // Cancelled when the session ends under us (see below): no offer or link can come any more, so the loops that
                // wait for them stop. A transfer under way is not cut by it (see EndLostAsync).
                using var lost = new CancellationTokenSource();

                // Transfers run under the deadline too: a sender that keeps a transfer alive (a byte within every inactivity
                // timeout) would otherwise hold the receiver past --timeout.
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (giveUpAfter is { } limit)
                {
                    deadline.CancelAfter(limit);
                }

                var received = 0;
                var failed = 0;
                var receiveOptions = new FileReceiveOptions { Overwrite = parse.GetValue(overwrite), ComputeSha256 = !parse.GetValue(noHash) };
                using var done = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, lost.Token);
                var gate = new SemaphoreSlim(1, 1);

                // An offer whose time ran out in the queue (behind an earlier file, or a stranger's nobody took) was never
                // accepted: the manager has declined it to its sender, who can offer it again. Nothing was received or lost,
                // so it is reported but neither counts towards --count nor fails the command.
                void ReportExpired(IncomingFileOffer offer, TransferAttempt attempt)
                {
                    var text = string.Create(
                        CultureInfo.InvariantCulture, $"the offer waited more than {offerWait.TotalSeconds:0.###} s and was declined; the sender can offer it again");
                    if (json)
                    {
                        lines.Result(TransferJson.Expired(attempt, text));
                    }

                    lines.Note($"xft: {offer.SafeName} from {offer.From}: {text}.");
                }

                // One transfer at a time (one progress display); offers and shared links both count towards --count.
                // attempt.File is the offered (safe) name: where no file is saved, the name it was offered under.
                async Task RunOneAsync(
                    IncomingFileOffer? offer, TransferAttempt attempt, Func<IProgress<FileTransferProgress>?, Task<FileTransferResult>> transfer, long size)
                {
                    var name = attempt.File;
                    var peer = attempt.Peer;
                    await gate.WaitAsync(deadline.Token);
                    try
                    {
                        // Checked before the progress display starts, so an expired offer draws no bar.
                        if (offer is { IsExpired: true })
                        {
                            ReportExpired(offer, attempt);
                        }
                        else
                        {
                            await lines.FlushAsync(deadline.Token);
                            var result = await ProgressDisplay.RunAsync(name, size, quiet: false, lines, progress => transfer(attempt.Watch(progress)));
                            lines.Result(json ? TransferJson.Ok(result) : TransferText.Received(result));
                            Interlocked.Increment(ref received);
                        }
                    }
                    catch (FileTransferException) when (offer is { IsExpired: true })
                    {
                        // It expired between the check above and AcceptAsync: only an offer nobody answered can be expired.
                        ReportExpired(offer, attempt);
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested && ConnectionLoss.Reason(client) is { } reason)
                    {
                        // Our session died: whatever this transfer failed with (our cancel, a send on the closed stream, the
                        // sender's side going away with the server) the cause is the connection. One result line for the file;
                        // the cause itself is the command's last line. The part stays, for a resume when the file comes again.
                        Interlocked.Increment(ref failed);
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, ConnectionLoss.Line(reason)));
                        }

                        lines.Note($"xft: {name} from {peer}: interrupted by the lost connection.");
                    }
                    catch (Exception ex) when (cancellationToken.IsCancellationRequested)
                    {
                        // Ctrl-C or SIGTERM: the file being received gets its line like every other (the part is kept for a
                        // resume), then the command ends (exit 130).
                        if (json)
                        {
                            lines.Result(TransferJson.Cancelled(attempt));
                        }

                        throw ex as OperationCanceledException ?? new OperationCanceledException("The receive was cancelled.", ex, cancellationToken);
                    }
                    catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        // --timeout cut this transfer: one result line for it, as for every file, before the command ends.
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, "cancelled at --timeout"));
                        }

                        throw;
                    }
                    catch (Exception ex) when (ex is FileTransferException or XmppStanzaErrorException or IOException or UnauthorizedAccessException)
                    {
                        // One failed file (a peer that went away or went silent, a disk error) is reported and counted; the
                        // receiver carries on with the next. Our own connection failing (XmppConnectionException, a stream
                        // error) ends the command: no more offers can come.
                        Interlocked.Increment(ref failed);
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, ex.Message));
                        }

                        lines.Note($"xft: {name} from {peer}: {ex.Message}");
                    }
                    finally
                    {
                        gate.Release();
                    }

                    if (wanted is { } n && Volatile.Read(ref received) + Volatile.Read(ref failed) >= n)
                    {
                        await done.CancelAsync();
                    }
                }

                async Task OffersAsync()
                {
                    await foreach (var offer in manager.ReceiveOffersAsync(done.Token))
                    {
                        // A channel hands out what it holds before it looks at the token: offers queued before the session
                        // ended are not taken (an out-of-band one would be downloaded with nobody left to tell).
                        if (lost.IsCancellationRequested)
                        {
                            break;
                        }

                        if (parse.GetValue(decline))
                        {
                            if (offer.IsExpired)
                            {
                                // Declined already, by the manager: not one of --count either.
                                ReportExpired(offer, OfferAttempt(offer));
                                continue;
                            }

                            await offer.DeclineAsync(cancellationToken: cancellationToken);
                            if (json)
                            {
                                lines.Result(TransferJson.Declined(OfferAttempt(offer), "--decline", "declined: --decline"));
                            }

                            lines.Note($"xft: declined {offer.SafeName} from {offer.From}");

                            // One of --count, and a failure (exit code 1), as --decline always was.
                            Interlocked.Increment(ref failed);
                            if (wanted is { } n && received + failed >= n)
                            {
                                await done.CancelAsync();
                            }

                            continue;
                        }

                        await RunOneAsync(
                            offer, OfferAttempt(offer), progress => offer.AcceptAsync(directory, receiveOptions, progress, deadline.Token), offer.File.Size);
                    }
                }

                async Task LinksAsync()
                {
                    await foreach (var link in manager.ReceiveLinksAsync(done.Token))
                    {
                        if (lost.IsCancellationRequested)
                        {
                            break;
                        }

                        var name = link.Url.Segments.LastOrDefault() ?? "link";
                        var attempt = new TransferAttempt(name, size: null, link.From.ToString(), sid: null);
                        await RunOneAsync(null, attempt, progress => manager.DownloadLinkAsync(link, directory, progress, deadline.Token), -1);
                    }
                }

                var work = Task.WhenAll(parse.GetValue(fetchLinks) ? [OffersAsync(), LinksAsync()] : [OffersAsync()]);

                // Nothing in the offer loop learns by itself that the session ended (a stream error such as system-shutdown
                // or conflict, a dropped socket): no offer can come any more. So the session's end is watched here. The first
                // wait is bounded by the loop's own ends (--count, --timeout, Ctrl-C) or the session's.
                // With --count reached (done) the work is over whatever the session does next: a server that stops right after
                // the last file must not turn a complete run into "lost the connection".
                bool CountReached() => wanted is { } n && Volatile.Read(ref received) + Volatile.Read(ref failed) >= n;
                if (await Task.WhenAny(work, client.Completion) != work && !done.IsCancellationRequested && ConnectionLoss.Reason(client) is { } lostReason)
                {
                    return await EndLostAsync(work, lost, lostReason, lines, CountReached, () => Volatile.Read(ref failed), cancellationToken);
                }

                try
                {
                    await work;
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested && ConnectionLoss.Reason(client) is { } reason)
                {
                    // The loop failed before the watch above saw the session end (e.g. a decline sent on the closed stream).
                    return await EndLostAsync(work, lost, reason, lines, CountReached, () => Volatile.Read(ref failed), cancellationToken);
                }
                catch (OperationCanceledException) when (done.IsCancellationRequested && !deadline.IsCancellationRequested)
                {
                    // --count reached.
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    lines.Note($"xft: timed out after receiving {received} file(s).");
                    return ExitCodes.Failed;
                }

                return failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Ends a receive whose session died: stops waiting for offers and lets the transfer under way end by itself, then says
    /// why in one line and fails (exit 1). The library ends at once what needs the session (an offer not yet answered, the
    /// wait for a streamhost, in-band data); a SOCKS5 stream whose data already flows has its own TCP connection and may
    /// still finish (its inactivity timeout bounds a sender that went away), and its file then has its "ok" line. When that
    /// was the last file of --count and none failed, the run is complete and the loss is not reported. Ctrl-C still cancels. No
    /// reconnection: a supervisor restarts the command (docs/cli.md).
    /// </summary>
    private static async Task<int> EndLostAsync(
        Task work, CancellationTokenSource lost, Exception reason, OrderedOutput lines, Func<bool> countReached, Func<int> failed, CancellationToken cancellationToken)
    {
        await lost.CancelAsync();
        try
        {
            await work.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever the loops ended with (our stop, a send on the closed stream) follows from the lost connection, which
            // the files' own lines and the line below report.
        }

        if (countReached() && failed() == 0)
        {
            return ExitCodes.Ok;
        }

        // After the lines of the files it cut short.
        lines.Note("xft: " + ConnectionLoss.Line(reason));
        return ExitCodes.Failed;
    }

    /// <summary>An offer's file before it is accepted: its offered name, its size when the offer says it (SI does; out-of-band, -1, does not).</summary>
    private static TransferAttempt OfferAttempt(IncomingFileOffer offer) =>
        new(offer.SafeName, KnownSize(offer.File.Size), offer.From.ToString(), offer.Sid);

    /// <summary>An offered size, or null for the -1 of an offer that does not say.</summary>
    private static long? KnownSize(long offered) => offered >= 0 ? offered : null;

    /// <summary>
    /// Creates the <c>--out</c> folder if missing and proves it writable by creating (and at once deleting) a file in it: only
    /// a write tells, past permissions, ACLs and read-only mounts. Anything else is a usage error, before we log in.
    /// </summary>
    private static void PrepareFolder(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            using (File.Create(Path.Combine(directory, $".xft-probe-{Guid.NewGuid():N}"), 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"--out '{directory}' is not a folder xft can write to: {ex.Message}");
        }
    }

    /// <summary>Largest SECONDS value: about 23 days, within what a timer can wait (int.MaxValue milliseconds).</summary>
    private const double MaxSeconds = 2_000_000;

    /// <summary>
    /// A SECONDS option as a <see cref="TimeSpan"/>, or null when not given. A value that is not positive (or is beyond
    /// <see cref="MaxSeconds"/>) is a usage error here, rather than an exception deep in a transfer or a timeout that fires at once.
    /// </summary>
    private static TimeSpan? Seconds(ParseResult parse, Option<double?> option) => parse.GetValue(option) switch
    {
        null => null,
        double seconds and > 0 and <= MaxSeconds => TimeSpan.FromSeconds(seconds),
        double seconds => throw new UsageException(string.Create(
            CultureInfo.InvariantCulture, $"{option.Name} must be a positive number of seconds (at most {MaxSeconds}), not {seconds}.")),
    };
}
