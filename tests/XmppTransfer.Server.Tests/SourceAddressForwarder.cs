using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Server.Tests;

/// <summary>
/// Forwards loopback connections to a target from another loopback address (127.0.0.2 by default), so the server sees a
/// second client address. Connect to <see cref="EndPoint"/>; bytes are copied both ways until either side closes.
/// </summary>
internal sealed class SourceAddressForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly IPAddress _source;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    public SourceAddressForwarder(IPEndPoint target, IPAddress? source = null)
    {
        _target = target;
        _source = source ?? IPAddress.Parse("127.0.0.2");
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop.WaitAsync(ServerHarness.Cap);
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(ServerHarness.Cap);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    upstream.Bind(new IPEndPoint(_source, 0));
                    await upstream.ConnectAsync(_target, _stop.Token);
                }
                catch
                {
                    upstream.Dispose();
                    client.Dispose();
                    throw;
                }

                lock (_connections)
                {
                    _connections.Add(ForwardAsync(client, upstream));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException && _stop.IsCancellationRequested)
        {
        }
    }

    private async Task ForwardAsync(Socket client, Socket upstream)
    {
        using (client)
        using (upstream)
        {
            await Task.WhenAll(CopyAsync(client, upstream), CopyAsync(upstream, client));
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // One side is gone (or the test ended): end the other direction too.
            from.Close();
            to.Close();
        }
    }
}
