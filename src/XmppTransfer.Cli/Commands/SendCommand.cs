using System.CommandLine;
using System.Globalization;
using System.Net;
using XmppTransfer.Bytestreams;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Cli.Connection;
using XmppTransfer.Cli.Output;
using XmppTransfer.Cli.Server;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.Cli.Commands;

/// <summary><c>xft send TO FILE...</c>: offer files to someone and send them (SI file transfer).</summary>
internal static class SendCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var to = new Argument<string>("TO") { Description = "The receiver: a full JID (user@domain/resource) or a bare JID of a contact who shares presence." };
        var files = new Argument<string[]>("FILE") { Description = "Files to send, one after the other.", Arity = ArgumentArity.OneOrMore };
        var method = new Option<string>("--method")
        {
            Description = "auto (SOCKS5, falling back to in-band), ibb (in-band only), s5b (SOCKS5 only), oob (the receiver downloads over HTTP).",
            DefaultValueFactory = _ => "auto",
        };
        var blockSize = new Option<int?>("--block-size") { Description = "In-band block size in bytes (1-65535; default 4096).", HelpName = "BYTES" };
        var window = new Option<int?>("--ibb-window")
        {
            Description = "In-band blocks in flight before waiting for acks (1 = stop-and-wait; default 64), and never more than 4 MiB in flight "
                + "(each block counted with 1 KiB more): with --block-size 65535 at most 63.",
            HelpName = "N",
        };
        var description = new Option<string?>("--desc") { Description = "A description shown to the receiver." };
        var proxy = new Option<string[]>("--proxy")
        {
            Description = "A SOCKS5 proxy (streamhost JID) to offer; repeatable. Replaces discovery on our server.",
            HelpName = "JID",
            AllowMultipleArgumentsPerToken = false,
        };
        var noDirect = new Option<bool>("--no-direct") { Description = "Do not offer ourselves as a SOCKS5 streamhost; proxies only." };
        var s5bHost = HostOption();
        var s5bPort = new Option<string?>("--s5b-port") { Description = "Port (N) or range (A-B) of our SOCKS5 listener; default ephemeral.", HelpName = "N|A-B" };
        var oobListen = new Option<string>("--oob-listen")
        {
            Description = "With --method oob: the address our HTTP server listens on (default 127.0.0.1; use a LAN address to reach others).",
            HelpName = "ADDR",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var oobPort = new Option<int>("--oob-port") { Description = "With --method oob: the HTTP port (default: any free port).", HelpName = "N" };
        var oobPublicHost = new Option<string?>("--oob-public-host") { Description = "With --method oob: the host name or address put in the URL (e.g. behind NAT).", HelpName = "HOST" };
        var noHash = new Option<bool>("--no-hash")
        {
            Description = "Offer no hash: skips reading each file once before sending. The receiver can then neither verify the file nor resume it.",
        };
        var command = new Command("send", "Send files to an XMPP contact (SI file transfer over SOCKS5 or in-band bytestreams, or out-of-band HTTP).")
        {
            to, files, method, blockSize, window, description, proxy, noDirect, s5bHost, s5bPort, oobListen, oobPort, oobPublicHost, noHash,
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
                var toText = parse.GetRequiredValue(to);
                if (!Jid.TryParse(toText, out var receiver))
                {
                    throw new UsageException($"'{toText}' is not a valid JID.");
                }

                var ibb = InBandBytestreamOptions.Default;
                if (parse.GetValue(blockSize) is { } size)
                {
                    ibb = ibb with { BlockSize = size is >= 1 and <= 65535 ? size : throw new UsageException("--block-size must be between 1 and 65535.") };
                }

                if (parse.GetValue(window) is { } inFlight)
                {
                    ibb = ibb with { Window = inFlight >= 1 ? inFlight : throw new UsageException("--ibb-window must be at least 1.") };
                }

                var preference = parse.GetValue(method) switch
                {
                    "auto" => TransferMethodPreference.Auto,
                    "ibb" => TransferMethodPreference.Ibb,
                    "s5b" => TransferMethodPreference.Socks5,
                    "oob" => TransferMethodPreference.Oob,
                    var other => throw new UsageException($"--method must be auto, ibb, s5b or oob, not '{other}'."),
                };
                var paths = parse.GetRequiredValue(files);
                foreach (var path in paths)
                {
                    CheckSendable(path);
                }

                var json = parse.GetValue(connection.Json);
                var options = connection.Build(parse, logging);
                var socks5 = BuildSocks5Options(parse.GetValue(s5bHost) ?? []) with
                {
                    DirectCandidates = !parse.GetValue(noDirect),
                    Proxies = [.. (parse.GetValue(proxy) ?? []).Select(p => Jid.TryParse(p, out var j) ? j : throw new UsageException($"--proxy '{p}' is not a valid JID."))],
                };
                (int First, int Last)? s5bPorts = null;
                if (parse.GetValue(s5bPort) is { } portText)
                {
                    var (first, last) = ParsePortRange(portText);
                    socks5 = socks5 with { MinPort = first, MaxPort = last };
                    s5bPorts = (first, last);
                }

                if (!System.Net.IPAddress.TryParse(parse.GetValue(oobListen), out var oobAddress))
                {
                    throw new UsageException("--oob-listen must be an IP address.");
                }

                if (parse.GetValue(oobPort) is < 0 or > 65535)
                {
                    throw new UsageException($"--oob-port must be a port (1-65535), or 0 for any free one, not {parse.GetValue(oobPort)}.");
                }

                if (preference == TransferMethodPreference.Oob)
                {
                    CheckOobListen(oobAddress);
                }

                var oob = OobOptions.Default with { ListenAddress = oobAddress, Port = parse.GetValue(oobPort), PublicHost = parse.GetValue(oobPublicHost) };
                var manager = new FileTransferManager(new FileTransferOptions { Ibb = ibb, Socks5 = socks5, Oob = oob });

                await using var client = new XmppClient(options);
                client.AddExtension(manager);

                // Our direct streamhost's port taken: the library offers the proxies alone, and says so only in a log
                // (errors only, by default). Told here once, naming the option; a file that then fails for it is worded below.
                BytestreamException? listenFailure = null;
                if (client.GetExtension<Socks5BytestreamManager>() is { } s5bManager)
                {
                    s5bManager.DirectListenFailed += failure =>
                    {
                        if (Interlocked.Exchange(ref listenFailure, failure) is null)
                        {
                            lines.Note(DirectListenText.Warning(failure, s5bPorts, fallsBackInBand: preference == TransferMethodPreference.Auto));
                        }
                    };
                }

                await client.ConnectAsync(cancellationToken);
                var sendOptions = new FileSendOptions { Method = preference, Ibb = ibb, Description = parse.GetValue(description), ComputeHashes = !parse.GetValue(noHash) };

                // The session's end is not a cancel: the library ends at once what needs the session (offers, the retry delay
                // of a busy receiver, in-band data), and the catch below names the lost connection as the cause; a SOCKS5
                // transfer whose data already flows has its own TCP connection and may still finish.
                var exit = ExitCodes.Ok;
                foreach (var path in paths)
                {
                    if (ConnectionLoss.Reason(client) is { } lostBefore)
                    {
                        // Lost while an earlier file's SOCKS5 bytes still flowed (that one finished): the files left are not tried.
                        lines.Note("xft: " + ConnectionLoss.Line(lostBefore));
                        return ExitCodes.Failed;
                    }

                    // file is the full path on every line, as on the "ok" line (the library's result has it so).
                    var attempt = new TransferAttempt(Path.GetFullPath(path), new FileInfo(path).Length, receiver.ToString(), sid: null);
                    try
                    {
                        await lines.FlushAsync(cancellationToken);
                        var result = await ProgressDisplay.RunAsync(
                            Path.GetFileName(path),
                            new FileInfo(path).Length,
                            quiet: false,
                            lines,
                            progress => manager.SendFileAsync(receiver, path, sendOptions, attempt.Watch(progress), cancellationToken));
                        lines.Result(json ? TransferJson.Ok(result) : TransferText.Sent(result));
                    }
                    catch (Exception ex) when (cancellationToken.IsCancellationRequested)
                    {
                        // Ctrl-C or SIGTERM: this file gets its line like every other, then the command ends (exit 130).
                        attempt.Failed(ex);
                        if (json)
                        {
                            lines.Result(TransferJson.Cancelled(attempt));
                        }

                        throw ex as OperationCanceledException ?? new OperationCanceledException("The send was cancelled.", ex, cancellationToken);
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ConnectionLoss.Reason(client) is { } reason)
                    {
                        // Our session died (a stream error such as system-shutdown or conflict, a dropped socket), whether while
                        // the offer waited for its answer or mid-transfer: this file failed, and no further one can be sent.
                        // An out-of-band file whose download went on to its end was served in full but is not confirmed: its
                        // line says so (it is no "ok": only the receiver's answer says it saved the file), then the loss.
                        attempt.Failed(ex);
                        var unconfirmed = ex is FileTransferException { ErrorKind: FileTransferErrorKind.Unconfirmed };
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, unconfirmed ? ex.Message : ConnectionLoss.Line(reason)));
                        }

                        if (unconfirmed)
                        {
                            lines.Note($"xft: {Path.GetFileName(path)}: {ErrorText.Line(ex.Message)}");
                        }

                        lines.Note("xft: " + ConnectionLoss.Line(reason));
                        return ExitCodes.Failed;
                    }
                    catch (System.Net.Sockets.SocketException ex) when (preference == TransferMethodPreference.Oob)
                    {
                        // Our HTTP server could not listen (the port of --oob-port is taken): the one socket we open with --method oob.
                        var failure = ListenFailure.Describe(ex.SocketErrorCode, new IPEndPoint(oobAddress, parse.GetValue(oobPort)), "--oob-listen and --oob-port").Message;
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, failure));
                        }

                        lines.Note($"xft: {Path.GetFileName(path)}: {failure}");
                        exit = ExitCodes.Failed;
                    }
                    catch (FileTransferException ex)
                    {
                        attempt.Failed(ex);
                        var message = DirectListenText.CausedBy(ex, Volatile.Read(ref listenFailure)) && preference == TransferMethodPreference.Socks5
                            ? DirectListenText.Error(Volatile.Read(ref listenFailure)!, s5bPorts)
                            : ex.Message;
                        if (json)
                        {
                            lines.Result(TransferJson.Error(attempt, message));
                        }

                        lines.Note($"xft: {Path.GetFileName(path)}: {ErrorText.Line(message)}");
                        exit = ex.ErrorKind == FileTransferErrorKind.Declined && exit is ExitCodes.Ok or ExitCodes.Declined ? ExitCodes.Declined : ExitCodes.Failed;
                    }
                }

                return exit;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Only regular files can be sent: an offer states the size and hash up front and a resume seeks, which a pipe
    /// (<c>&lt;(command)</c>) or a device cannot give. Checked before logging in, so the error comes before any traffic.
    /// </summary>
    internal static void CheckSendable(string path)
    {
        if (Directory.Exists(path))
        {
            throw new UsageException($"{path} is a directory; send the files in it (e.g. {Path.Combine(path, "*")}), or an archive of it.");
        }

        if (!File.Exists(path))
        {
            throw new UsageException($"No such file: {path}");
        }

        // Told from the file's type, without opening it: opening a FIFO that has no writer waits for ever. Where the type
        // cannot be told (not Linux), the open below still turns away what cannot seek.
        if (FileKindProbe.Of(path, followLinks: true) is { } kind && FileKindProbe.IsSpecial(kind))
        {
            throw new UsageException($"{path} is {FileKindProbe.Describe(kind)}, not a regular file; only regular files can be sent: save it to a file first.");
        }

        bool seekable;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            seekable = stream.CanSeek;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UsageException($"Cannot read {path}: {ex.Message}");
        }

        if (!seekable)
        {
            throw new UsageException($"{path} is not a regular file (a pipe or a device); only regular files can be sent: save it to a file first.");
        }
    }

    /// <summary>
    /// <c>--oob-listen</c> must be an address of this machine: bound once (on an ephemeral port) before logging in, so a
    /// typo is a usage error naming the option rather than a socket error after the offer.
    /// </summary>
    private static void CheckOobListen(IPAddress address)
    {
        using var socket = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressNotAvailable)
        {
            throw new UsageException($"--oob-listen {address}: this machine has no such address; give one of its own (or omit it for 127.0.0.1).");
        }
    }

    /// <summary><c>--s5b-host HOST</c> (repeatable), shared with <c>xft receive</c>.</summary>
    internal static Option<string[]> HostOption() => new("--s5b-host")
    {
        Description = "Address offered as our direct SOCKS5 streamhost (repeatable; default: every usable interface address). "
            + "When every one given is a loopback address, only loopback candidates are offered or dialed.",
        HelpName = "HOST",
    };

    /// <summary>
    /// SOCKS5 options from <c>--s5b-host</c>: the hosts to offer, and <see cref="Socks5BytestreamOptions.LoopbackOnly"/> when every
    /// host given is a loopback address (a loopback-only user never wants to dial, or offer, anything else).
    /// </summary>
    internal static Socks5BytestreamOptions BuildSocks5Options(IReadOnlyList<string> hosts)
    {
        foreach (var host in hosts)
        {
            if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                throw new UsageException($"--s5b-host '{host}' is not an address or host name.");
            }
        }

        var loopbackOnly = hosts.Count > 0 && hosts.All(h => IPAddress.TryParse(h, out var address) && IPAddress.IsLoopback(address));
        return Socks5BytestreamOptions.Default with { Hosts = [.. hosts], LoopbackOnly = loopbackOnly };
    }

    private static (int First, int Last) ParsePortRange(string text)
    {
        var parts = text.Split('-', 2);
        if (parts.Length == 1 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
        {
            return (port, port);
        }

        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            && first is >= 1 and <= 65535 && last >= first && last <= 65535)
        {
            return (first, last);
        }

        throw new UsageException($"--s5b-port must be a port (1-65535) or a range A-B, not '{text}'.");
    }
}
