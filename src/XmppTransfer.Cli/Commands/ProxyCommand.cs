using System.CommandLine;
using System.Net.Sockets;
using XmppTransfer.Cli.Output;
using XmppTransfer.Cli.Proxy;

namespace XmppTransfer.Cli.Commands;

/// <summary>
/// <c>xft proxy</c>: runs the SOCKS5 bytestream proxy (XEP-0065) as an external component (XEP-0114) of an XMPP
/// server, until SIGTERM or Ctrl-C; then it detaches and drains. See docs/proxy.md.
/// </summary>
internal static class ProxyCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "appsettings JSON file (keys under \"Proxy\", log levels under \"Logging\"); environment XFT_Proxy__KEY and arguments override it.", HelpName = "FILE" };
        var jid = new Option<string?>("--component-jid") { Description = "The component's address, e.g. proxy.example.org.", HelpName = "JID" };
        var server = new Option<string?>("--server") { Description = "The XMPP server's component port (default 127.0.0.1:5347).", HelpName = "HOST:PORT" };
        var secretFile = new Option<string?>("--secret-file") { Description = $"File with the component secret (else ${ProxyConfiguration.SecretVariable}).", HelpName = "FILE" };
        var listen = new Option<string[]>("--listen") { Description = "SOCKS5 listen address, repeatable (default 0.0.0.0:7777 and [::]:7777).", HelpName = "ADDR:PORT", AllowMultipleArgumentsPerToken = false };
        var publicHost = new Option<string[]>("--public-host") { Description = "Address clients connect to (IP or DNS name, optional :PORT), repeatable.", HelpName = "HOST" };
        var allowDomain = new Option<string[]>("--allow-domain") { Description = "Also serve users of this domain, repeatable (local domains are always served).", HelpName = "DOMAIN" };
        var allowJid = new Option<string[]>("--allow-jid") { Description = "Also serve this user (bare JID), repeatable.", HelpName = "JID" };
        var allowAnyone = new Option<bool>("--allow-anyone") { Description = "Serve everybody (open relay; closed networks only)." };
        var maxConnections = new Option<int?>("--max-connections") { Description = "Open SOCKS5 connections in total (default 10000).", HelpName = "N" };
        var maxPerAddress = new Option<int?>("--max-per-address") { Description = "Open SOCKS5 connections per client IP (default 64).", HelpName = "N" };
        var maxPerJid = new Option<int?>("--max-streams-per-jid") { Description = "Active streams per user (default 16).", HelpName = "N" };
        var rate = new Option<string?>("--rate") { Description = "Bandwidth per stream in bytes/s, K/M/G suffixes (default unlimited).", HelpName = "BYTES" };
        var totalRate = new Option<string?>("--total-rate") { Description = "Bandwidth of all streams together in bytes/s (default unlimited).", HelpName = "BYTES" };
        var maxBytes = new Option<string?>("--max-bytes-per-stream") { Description = "Bytes per stream before it is closed (default unlimited).", HelpName = "BYTES" };
        var relayBuffer = new Option<string?>("--relay-buffer") { Description = "Largest relay read per stream direction, held only while data is in flight (default 256K).", HelpName = "BYTES" };
        var metrics = new Option<string?>("--metrics") { Description = "Serve Prometheus text on http://ADDR:PORT/metrics.", HelpName = "ADDR:PORT" };
        var json = new Option<bool>("--json") { Description = "Print JSON event lines (listening, connected, disconnected, stopped) on stdout." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Debug logging on stderr, whatever Logging:LogLevel says." };
        var command = new Command("proxy", "Run the SOCKS5 bytestream proxy as an external component of an XMPP server.")
        {
            config, jid, server, secretFile, listen, publicHost, allowDomain, allowJid, allowAnyone, maxConnections, maxPerAddress, maxPerJid,
            rate, totalRate, maxBytes, relayBuffer, metrics, json, verbose,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(parse.GetValue(verbose), async () =>
        {
            ProxySettings settings = ProxyConfiguration.Load(new ProxyArguments
            {
                ConfigFile = parse.GetValue(config),
                ComponentJid = parse.GetValue(jid),
                Server = parse.GetValue(server),
                SecretFile = parse.GetValue(secretFile),
                Listen = parse.GetValue(listen) ?? [],
                PublicHosts = parse.GetValue(publicHost) ?? [],
                AllowDomains = parse.GetValue(allowDomain) ?? [],
                AllowJids = parse.GetValue(allowJid) ?? [],
                AllowAnyone = parse.GetValue(allowAnyone),
                MaxConnections = parse.GetValue(maxConnections),
                MaxPerAddress = parse.GetValue(maxPerAddress),
                MaxStreamsPerJid = parse.GetValue(maxPerJid),
                Rate = parse.GetValue(rate),
                TotalRate = parse.GetValue(totalRate),
                MaxBytesPerStream = parse.GetValue(maxBytes),
                RelayBufferSize = parse.GetValue(relayBuffer),
                Metrics = parse.GetValue(metrics),
                Json = parse.GetValue(json),
            });
            CliLogging.Validate(settings.Logging);
            try
            {
                if (!await ProxyHost.RunAsync(settings, parse.GetValue(verbose), Console.Out, cancellationToken))
                {
                    // Already logged as an error naming the refusal.
                    return ExitCodes.Failed;
                }
            }
            catch (SocketException ex)
            {
                await Console.Error.WriteLineAsync("xft: cannot listen: " + ex.Message);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
