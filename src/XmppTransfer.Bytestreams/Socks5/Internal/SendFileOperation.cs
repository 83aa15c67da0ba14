using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace XmppTransfer.Bytestreams.Socks5.Internal;

/// <summary>
/// One reusable, awaitable <see cref="Socket.SendPacketsAsync"/> of a file range. On Linux the runtime serves a file
/// element with sendfile(2) at an explicit offset: the bytes go from the page cache to the socket without entering
/// the process, and the file's own position is left alone.
/// </summary>
internal sealed class SendFileOperation : SocketAsyncEventArgs, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    public SendFileOperation()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/>; check <see cref="SocketAsyncEventArgs.SocketError"/> after.</summary>
    public ValueTask SendAsync(Socket socket, FileStream file, long offset, int count)
    {
        _core.Reset();
        SendPacketsElements = [new SendPacketsElement(file, offset, count)];
        return socket.SendPacketsAsync(this) ? new ValueTask(this, _core.Version) : ValueTask.CompletedTask;
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e) => _core.SetResult(true);
}
