using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using XmppTransfer.Cli.Demo;
using XmppTransfer.Cli.Output;

namespace XmppTransfer.Cli.Commands;

/// <summary><c>xft demo</c>: everything on loopback in one process, one file by every method, verified.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size")
        {
            Description = "Size of the test file, e.g. 64M (default), 512K, 1G or a byte count.",
            DefaultValueFactory = _ => "64M",
        };
        var json = new Option<bool>("--json") { Description = "Write one JSON line per method instead of the table." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log protocol details (Debug, whatever XFT_Logging__LogLevel__* says)." };
        var command = new Command(
            "demo",
            "Start an embedded XMPP server on loopback, create two accounts and send one file by every method "
            + "(in-band, SOCKS5 direct, SOCKS5 through the built-in proxy, out-of-band HTTP), each verified by SHA-256.")
        {
            size, json, verbose,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(parse.GetValue(verbose), async () =>
        {
            var bytes = ParseSize(parse.GetValue(size)!);
            using var logging = CliLogging.Create(parse.GetValue(verbose), XftEnvironment.Current());
            var rows = await new DemoRun(bytes, logging, Console.Error).RunAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                foreach (var row in rows)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        method = row.Method,
                        label = row.Label,
                        bytes = row.Size,
                        seconds = Math.Round(row.Duration.TotalSeconds, 3),
                        mib_per_second = Math.Round(row.MiBPerSecond, 1),
                        verified = row.Verified,
                        error = row.Error,
                    }));
                }
            }
            else
            {
                var table = new Table().AddColumns("Method", "Carried by", "Size", "Seconds", "MiB/s", "Verified");
                foreach (var row in rows)
                {
                    table.AddRow(
                        Markup.Escape(row.Label),
                        row.Method,
                        (row.Size / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
                        row.Duration.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture),
                        row.MiBPerSecond.ToString("0.0", CultureInfo.InvariantCulture),
                        row.Verified ? "yes (sha256)" : "NO" + (row.Error is null ? string.Empty : ": " + Markup.Escape(row.Error)));
                }

                AnsiConsole.Write(table);
            }

            return rows.All(r => r.Verified) ? ExitCodes.Ok : ExitCodes.Failed;
        }, cancellationToken));
        return command;
    }

    internal static long ParseSize(string text)
    {
        var trimmed = text.Trim().ToUpperInvariant().TrimEnd('B').TrimEnd('I');
        long multiplier = 1;
        if (trimmed.Length > 0 && char.IsLetter(trimmed[^1]))
        {
            multiplier = trimmed[^1] switch
            {
                'K' => 1024,
                'M' => 1024 * 1024,
                'G' => 1024L * 1024 * 1024,
                _ => throw new UsageException($"--size '{text}': use a byte count or K, M, G (e.g. 64M)."),
            };
            trimmed = trimmed[..^1];
        }

        return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 && value * multiplier <= 64L * 1024 * 1024 * 1024
            ? (long)(value * multiplier)
            : throw new UsageException($"--size '{text}' is not a size (e.g. 64M, 512K, 1G).");
    }
}
