using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Proxy.Internal;

/// <summary>One accepted TCP connection (a leg once its handshake succeeded).</summary>
internal sealed class ProxyConnection(long id, Socket socket, IPAddress remoteAddress)
{
    private int _closed;

    public long Id { get; } = id;

    public Socket Socket { get; } = socket;

    public IPAddress RemoteAddress { get; } = remoteAddress;

    /// <summary>Bytes that were in the kernel receive buffer at activation: sent before activation, dropped by the relay.</summary>
    public long BytesToDiscard { get; set; }

    /// <summary>
    /// Completes once the success reply is written (faulted if that failed). A leg counts as connected as soon
    /// as it is registered, so that activation never races the reply; the relay waits for this before writing.
    /// </summary>
    public TaskCompletionSource ReplySent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Marks the connection closed once; true for the call that did it (which then releases and disposes).</summary>
    public bool TryMarkClosed() => Interlocked.Exchange(ref _closed, 1) == 0;
}
