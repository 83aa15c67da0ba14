using System.CommandLine;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Cli.Connection;
using XmppTransfer.Cli.Output;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;

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
            Description = "auto (SOCKS5, falling back to in-band), ibb (in-band only), s5b (SOCKS5 only).",
            DefaultValueFactory = _ => "auto",
        };
        var blockSize = new Option<int?>("--block-size") { Description = "In-band block size in bytes (1-65535; default 4096).", HelpName = "BYTES" };
        var window = new Option<int?>("--ibb-window") { Description = "In-band blocks in flight before waiting for acks (1 = stop-and-wait; default 16).", HelpName = "N" };
        var description = new Option<string?>("--desc") { Description = "A description shown to the receiver." };
        var command = new Command("send", "Send files to an XMPP contact (SI file transfer over SOCKS5 or in-band bytestreams).")
        {
            to, files, method, blockSize, window, description,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var verbose = parse.GetValue(connection.Verbose);
            return CommandRunner.RunAsync(verbose, async () =>
            {
                using var logging = CliLogging.Create(verbose);
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
                    var other => throw new UsageException($"--method must be auto, ibb or s5b, not '{other}'."),
                };
                var paths = parse.GetRequiredValue(files);
                foreach (var path in paths)
                {
                    if (!File.Exists(path))
                    {
                        throw new UsageException($"No such file: {path}");
                    }
                }

                var json = parse.GetValue(connection.Json);
                var options = connection.Build(parse, logging);
                var manager = new FileTransferManager(new FileTransferOptions { Ibb = ibb });
                await using var client = new XmppClient(options);
                client.AddExtension(manager);
                await client.ConnectAsync(cancellationToken);
                var sendOptions = new FileSendOptions { Method = preference, Ibb = ibb, Description = parse.GetValue(description) };

                var exit = ExitCodes.Ok;
                foreach (var path in paths)
                {
                    try
                    {
                        var result = await ProgressDisplay.RunAsync(
                            Path.GetFileName(path),
                            new FileInfo(path).Length,
                            quiet: false,
                            progress => manager.SendFileAsync(receiver, path, sendOptions, progress, cancellationToken));
                        Console.Out.WriteLine(json
                            ? TransferJson.Ok(result)
                            : $"sent {result.FileName} to {result.Peer}: {result.Size} bytes in {result.Duration.TotalSeconds:0.00} s by {result.Method.ToShortName()}, sha256 {result.Sha256}");
                    }
                    catch (FileTransferException ex)
                    {
                        if (json)
                        {
                            Console.Out.WriteLine(TransferJson.Error(path, receiver.ToString(), null, ex.Message));
                        }

                        await Console.Error.WriteLineAsync($"xft: {Path.GetFileName(path)}: {ex.Message}");
                        exit = ex.ErrorKind == FileTransferErrorKind.Declined && exit is ExitCodes.Ok or ExitCodes.Declined ? ExitCodes.Declined : ExitCodes.Failed;
                    }
                }

                return exit;
            }, cancellationToken);
        });
        return command;
    }
}
