using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Testing;

/// <summary>Finds free TCP ports on the loopback interface by binding port 0.</summary>
/// <remarks>
/// For a server that must be given its port up front (a child process's configuration, a URL prefix) and binds it
/// soon after. The ports are released before they are returned, so another test could take one in between; the kernel
/// hands out port-0 ports from a wide range at random, so that is rare, and a server that fails to bind says so at
/// once instead of passing wrongly. Never use one as a port that should refuse connections: a parallel test's listener
/// can be given it before the connect; hold a <see cref="RefusingPort"/> instead.
/// </remarks>
public static class FreePort
{
    /// <summary>Returns one free loopback TCP port.</summary>
    public static int Next() => Next(1)[0];

    /// <summary>Returns <paramref name="count"/> distinct free loopback TCP ports.</summary>
    public static IReadOnlyList<int> Next(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        // Every listener stays bound until all are, so the kernel hands out distinct ports.
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (TcpListener listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }
}
