using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Testing;

namespace XmppTransfer.Proxy.Tests;

/// <summary>An in-process proxy on 127.0.0.1:0 and SOCKS5 clients for it.</summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private ProxyHarness(Socks5Proxy proxy, RecordingLoggerFactory log)
    {
        Proxy = proxy;
        Log = log;
    }

    public Socks5Proxy Proxy { get; }

    public RecordingLoggerFactory Log { get; }

    public ProxyMetrics Metrics => Proxy.Metrics;

    public IPEndPoint EndPoint => Proxy.LocalEndpoints[0];

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<ProxyHarness> StartAsync(Func<Socks5ProxyOptions, Socks5ProxyOptions>? configure = null)
    {
        RecordingLoggerFactory log = new();
        Socks5ProxyOptions options = Socks5ProxyOptions.Default with
        {
            ListenEndpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            LoggerFactory = log,
        };
        Socks5Proxy proxy = new(configure is null ? options : configure(options));
        await proxy.StartAsync(Ct);
        return new ProxyHarness(proxy, log);
    }

    public static string NewHash() => Socks5Address.Compute(Guid.NewGuid().ToString("N"), "requester@example.test/a", "target@example.test/b");

    /// <summary>A TCP connection to the proxy, optionally from another loopback source address (127.0.0.x).</summary>
    public async Task<Socket> ConnectAsync(IPAddress? from = null)
    {
        Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(from, 0));
        }

        await socket.ConnectAsync(EndPoint, Ct).AsTask().WaitAsync(TestTimeout, Ct);
        return socket;
    }

    /// <summary>Connects and completes the SOCKS5 handshake for <paramref name="hash"/>.</summary>
    public async Task<Socket> ConnectLegAsync(string hash, IPAddress? from = null)
    {
        Socket socket = await ConnectAsync(from);
        using NetworkStream stream = new(socket, ownsSocket: false);
        await Socks5ClientHandshake.ConnectAsync(stream, hash, TimeSpan.FromSeconds(10), Ct).WaitAsync(TestTimeout, Ct);
        return socket;
    }

    /// <summary>Target and Requester legs, activated.</summary>
    public async Task<(Socket Target, Socket Requester, string Hash)> ActivatedPairAsync()
    {
        string hash = NewHash();
        Socket target = await ConnectLegAsync(hash);
        Socket requester = await ConnectLegAsync(hash);
        Assert.Equal(ActivationResult.Activated, Proxy.TryActivate(hash));
        return (target, requester, hash);
    }

    public static async Task SendAsync(Socket socket, byte[] data)
    {
        int sent = 0;
        while (sent < data.Length)
        {
            sent += await socket.SendAsync(data.AsMemory(sent), SocketFlags.None, Ct);
        }
    }

    /// <summary>Reads until EOF, or until a reset (then Reset is true).</summary>
    public static async Task<(byte[] Data, bool Reset)> ReadToEndAsync(Socket socket)
    {
        using MemoryStream all = new();
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, Ct);
                if (n == 0)
                {
                    return (all.ToArray(), false);
                }

                all.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            return (all.ToArray(), true);
        }
    }

    /// <summary>Completes when the proxy closes <paramref name="socket"/> (EOF or reset), ignoring data.</summary>
    public static Task WaitClosedAsync(Socket socket) => ReadToEndAsync(socket).WaitAsync(TestTimeout, Ct);

    /// <summary>
    /// Waits, bounded by <see cref="TestTimeout"/>, for a state no event announces (e.g. the relay returns a buffer
    /// after its write completes, which the peer cannot observe). Checks every 10 ms; ordering never relies on it.
    /// </summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TestTimeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), deadline.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                throw new TimeoutException($"Condition not met within {TestTimeout}.");
            }
        }
    }

    public static byte[] RandomBytes(int count)
    {
        byte[] data = new byte[count];
        Random.Shared.NextBytes(data);
        return data;
    }

    public static string Sha256(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    public async ValueTask DisposeAsync() => await Proxy.DisposeAsync();
}
