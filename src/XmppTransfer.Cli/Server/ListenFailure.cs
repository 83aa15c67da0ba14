using System.Net;
using System.Net.Sockets;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Server;

/// <summary>
/// Says which of the server's listening addresses could not be bound, and which option or setting moves it (and, through
/// <see cref="Describe"/>, the same sentence for any other listener of ours, such as <c>xft send --method oob</c>). The
/// <see cref="SocketException"/> the server throws names no address ("Address already in use"), and the server has closed
/// every listener it opened by then, so binding each configured endpoint again finds the one that fails.
/// </summary>
internal static class ListenFailure
{
    public static Exception Explain(SocketException ex, ServerOptions options, IPEndPoint? metrics)
    {
        var candidates = new List<(IPEndPoint EndPoint, string Setting)> { (options.ClientEndpoint, "--listen (Server:Listen)") };
        if (options.DirectTlsEndpoint is { } directTls)
        {
            candidates.Add((directTls, "Server:DirectTlsListen"));
        }

        if (options.ComponentEndpoint is { } component)
        {
            candidates.Add((component, "Server:ComponentListen"));
        }

        if (options.ProxyEnabled)
        {
            candidates.Add((options.ProxyEndpoint, "Server:Proxy:Port (or Server:Proxy:Listen)"));
        }

        if (metrics is not null)
        {
            candidates.Add((metrics, "--metrics"));
        }

        foreach (var (endPoint, setting) in candidates)
        {
            if (TryBind(endPoint) is { } error)
            {
                return Describe(error, endPoint, setting);
            }
        }

        // Taken for a moment and free again: still say what failed.
        return Describe(ex.SocketErrorCode, null, "--listen, Server:Proxy:Port or the other *Listen settings");
    }

    /// <summary>
    /// The sentence for a bind failure: an address this machine does not have is a usage error (exit 2: the option is wrong
    /// here, and retrying will not help); a port someone else holds is a failure (exit 1: it may be free later).
    /// </summary>
    public static Exception Describe(SocketError error, IPEndPoint? endPoint, string setting)
    {
        var where = endPoint is null ? "an address" : endPoint.ToString();
        return error switch
        {
            SocketError.AddressAlreadyInUse or SocketError.AccessDenied => new IOException($"Cannot listen on {where}: {Why(error)}; choose another with {setting}."),
            SocketError.AddressNotAvailable => new UsageException($"Cannot listen on {where}: {Why(error)}; choose one of its own with {setting}."),
            _ => new IOException($"Cannot listen on {where} ({error}); check {setting}."),
        };
    }

    /// <summary>Why a bind failed, as a clause: the same words for every listener xft names (also our SOCKS5 streamhost's).</summary>
    public static string Why(SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => "the port is already in use",
        SocketError.AddressNotAvailable => "this machine has no such address",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
        _ => error.ToString(),
    };

    private static SocketError? TryBind(IPEndPoint endPoint)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(1);
            return null;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }
}
