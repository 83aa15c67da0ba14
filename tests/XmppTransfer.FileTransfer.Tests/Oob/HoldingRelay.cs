using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.FileTransfer.Tests.Oob;

/// <summary>
/// A loopback TCP relay for one connection (a NAT between an out-of-band receiver and the sender's HTTP server): it passes
/// the request on as it comes, and the answer up to <c>holdAfter</c> bytes, then holds the rest until <see cref="Release"/>,
/// so a download is known to be under way, mid-file, while the test changes something.
/// </summary>
internal sealed class HoldingRelay(long holdAfter) : IAsyncDisposable
{
    private readonly TcpListener _listener = StartListener();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes once <c>holdAfter</c> bytes of the answer have been passed on and the rest is held.</summary>
    public Task Holding => _holding.Task;

    public void Release() => _released.TrySetResult();

    /// <summary>Takes the one connection and relays it to <paramref name="upstreamPort"/> on loopback.</summary>
    public void Start(int upstreamPort) => _run = RunAsync(upstreamPort);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _run.ContinueWith(_ => { }, TaskScheduler.Default);
        _listener.Dispose();
        _stop.Dispose();
    }

    private static TcpListener StartListener()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private async Task RunAsync(int upstreamPort)
    {
        using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(IPAddress.Loopback, upstreamPort, _stop.Token);
        await Task.WhenAll(
            PumpAsync(client.GetStream(), upstream.GetStream(), long.MaxValue),
            PumpAsync(upstream.GetStream(), client.GetStream(), holdAfter));
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, long holdAt)
    {
        var buffer = new byte[16 * 1024];
        long passed = 0;
        while (true)
        {
            if (passed == holdAt)
            {
                _holding.TrySetResult();
                await _released.Task.WaitAsync(_stop.Token);
            }

            var room = passed < holdAt ? (int)Math.Min(buffer.Length, holdAt - passed) : buffer.Length;
            var n = await from.ReadAsync(buffer.AsMemory(0, room), _stop.Token);
            if (n == 0)
            {
                to.Socket.Shutdown(SocketShutdown.Send);
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            passed += n;
        }
    }
}
