using System.Net;
using System.Net.Sockets;
using System.Text;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Server;

/// <summary>
/// A tiny HTTP/1.1 responder for Prometheus: <c>GET /metrics</c> answers the server's and the proxy's metrics, anything
/// else 404. One request per connection; the request head must arrive within 5 s and fit in 8 KiB.
/// </summary>
internal sealed class MetricsEndpoint(EmbeddedXmppServer server, IPEndPoint endPoint) : IAsyncDisposable
{
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(5);
    private readonly TcpListener _listener = new(endPoint);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        if (_loop is not null)
        {
            await _loop;
        }

        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            // One scrape at a time is plenty; a slow client is bounded by the request timeout.
            await ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(s_requestTimeout);
            try
            {
                var buffer = new byte[8192];
                var length = 0;
                while (length < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, length).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                var requestLine = Encoding.ASCII.GetString(buffer, 0, length).Split("\r\n")[0];
                string status;
                string body;
                if (requestLine.StartsWith("GET /metrics ", StringComparison.Ordinal) || requestLine.StartsWith("GET /metrics?", StringComparison.Ordinal))
                {
                    using var writer = new StringWriter();
                    server.WritePrometheus(writer);
                    status = "200 OK";
                    body = writer.ToString();
                }
                else
                {
                    status = "404 Not Found";
                    body = "not found\n";
                }

                var bytes = Encoding.UTF8.GetBytes(body);
                var head = $"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
                await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, timeout.Token);
                await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                // A scraper that is slow or gone: drop it.
            }
        }
    }
}
