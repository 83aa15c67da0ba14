using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Testing;

/// <summary>Finds free TCP ports on the loopback interface by binding port 0.</summary>
/// <remarks>
/// The ports are released before they are returned, so another process could take one in between; on a test
/// machine that is rare enough, and a server that fails to bind shows it in its log.
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
