using System.Net.Sockets;
using XmppTransfer.Bytestreams;
using XmppTransfer.Cli.Server;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// What <c>xft send</c> says when our direct SOCKS5 streamhost cannot listen (the library raises
/// <c>Socks5BytestreamManager.DirectListenFailed</c>): the port, why, and <c>--s5b-port</c> when that option chose it, as
/// docs/cli.md promises of every port in use. The library's own sentence names no option, since it has none.
/// </summary>
internal static class DirectListenText
{
    /// <summary>
    /// The warning said once, when the listener first fails: the transfer goes on through the proxies (and, with
    /// <c>--method auto</c>, in-band after them), so it is not an error, but a user who chose the port must hear why.
    /// </summary>
    public static string Warning(BytestreamException failure, (int First, int Last)? ports, bool fallsBackInBand) =>
        $"xft: warning: {Cause(failure, ports)}; offering SOCKS5 proxies only{(fallsBackInBand ? ", then in-band" : string.Empty)}.";

    /// <summary>The error of a file that failed because nothing else could be offered (<c>--method s5b</c>, no proxy).</summary>
    public static string Error(BytestreamException failure, (int First, int Last)? ports) =>
        $"{Capitalize(Cause(failure, ports))}, and no SOCKS5 proxy could be offered instead; {(ports is null ? "check what holds the port" : "choose another with --s5b-port")}, or use --method auto to fall back to in-band.";

    /// <summary>True when <paramref name="ex"/> is, or was caused by, the listener failure <paramref name="failure"/>.</summary>
    public static bool CausedBy(Exception ex, BytestreamException? failure)
    {
        for (var e = (Exception?)ex; e is not null && failure is not null; e = e.InnerException)
        {
            if (ReferenceEquals(e, failure))
            {
                return true;
            }
        }

        return false;
    }

    private static string Cause(BytestreamException failure, (int First, int Last)? ports)
    {
        var where = ports is { } p ? p.First == p.Last ? $"port {p.First} (--s5b-port)" : $"ports {p.First}-{p.Last} (--s5b-port)" : "an ephemeral port";
        var why = (failure.InnerException as SocketException)?.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse when ports is { } r && r.First != r.Last => "every one is already in use",
            SocketError.AddressNotAvailable => ListenFailure.Why(SocketError.AddressNotAvailable) + " (--s5b-host)",
            { } code => ListenFailure.Why(code),
            null => failure.Message.TrimEnd('.'),
        };
        return $"cannot listen for direct SOCKS5 connections on {where}: {why}";
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
