using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.Cli.Proxy;

/// <summary>
/// A deliberately tiny HTTP/1.x responder for Prometheus: <c>GET /metrics</c> gets the text exposition format,
/// anything else 404, every connection closed after one answer. Requests are capped at 8 KiB and 5 s; at most
/// 16 are served at once (more wait in the backlog). No framework: nothing else is served from this port.
/// </summary>
internal sealed class MetricsServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly Func<string> _render;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(16);
    private readonly Task _acceptLoop;

    public MetricsServer(IPEndPoint endPoint, Func<string> render, ILogger logger)
    {
        _render = render;
        _logger = logger;
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endPoint);
            _listener.Listen(64);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        List<Task> serving = [];
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                await _slots.WaitAsync(_stop.Token).ConfigureAwait(false);
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    ProxyDaemonLog.MetricsFailed(_logger, ex);
                }

                break;
            }

            serving.RemoveAll(t => t.IsCompleted);
            serving.Add(ServeAsync(client));
        }

        await Task.WhenAll(serving).ConfigureAwait(false);
    }

    private async Task ServeAsync(Socket client)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxRequestBytes);
        try
        {
            using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(s_requestTimeout);
            int length = 0;
            int headerEnd = -1;
            while (headerEnd < 0 && length < MaxRequestBytes)
            {
                int n = await client.ReceiveAsync(buffer.AsMemory(length, MaxRequestBytes - length), SocketFlags.None, timeout.Token)
                    .ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                length += n;
                headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            }

            // Request line: METHOD SP PATH SP VERSION CRLF
            string requestLine = Encoding.ASCII.GetString(buffer, 0, Math.Max(0, buffer.AsSpan(0, length).IndexOf("\r\n"u8)));
            string[] parts = requestLine.Split(' ');
            bool isMetrics = parts.Length == 3 && parts[0] is "GET" or "HEAD" && parts[1].Split('?')[0] == "/metrics";
            string body = isMetrics ? _render() : "Not found. Metrics are at /metrics.\n";
            byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
            string head = (isMetrics ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n" : "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n")
                + $"Content-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n";
            await client.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (parts.Length == 3 && parts[0] != "HEAD")
            {
                await client.SendAsync(bodyBytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }

            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // A slow or vanished scraper: drop it.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            client.Dispose();
            _slots.Release();
        }
    }
}
