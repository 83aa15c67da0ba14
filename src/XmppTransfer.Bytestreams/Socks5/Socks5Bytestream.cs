using System.Diagnostics;
using System.Net.Sockets;
using XmppTransfer.Bytestreams.Socks5.Internal;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// An established SOCKS5 bytestream (XEP-0065): a TCP connection that carries raw bytes, either straight between the
/// parties (direct) or through a proxy that relays. Dispose closes the connection.
/// </summary>
public sealed class Socks5Bytestream : IAsyncDisposable, IDisposable
{
    private readonly NetworkStream _stream;
    private int _disposed;

    internal Socks5Bytestream(Socket socket, NetworkStream stream, string sid, Jid peer, Jid streamHost, bool viaProxy)
    {
        Socket = socket;
        _stream = stream;
        Sid = sid;
        Peer = peer;
        StreamHost = streamHost;
        ViaProxy = viaProxy;
    }

    /// <summary>The session id the stream was negotiated for.</summary>
    public string Sid { get; }

    /// <summary>The other party (full JID).</summary>
    public Jid Peer { get; }

    /// <summary>The streamhost the stream goes through: the requester's JID (direct) or a proxy's.</summary>
    public Jid StreamHost { get; }

    /// <summary>True when a proxy relays the stream (mediated); false for a direct connection.</summary>
    public bool ViaProxy { get; }

    /// <summary>The connected socket, for zero-copy sends and half-closes.</summary>
    public Socket Socket { get; }

    /// <summary>The connection as a stream (owns the socket).</summary>
    public Stream Stream => _stream;

    /// <summary>
    /// Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> with the kernel's
    /// sendfile(2) where the platform has it: the bytes go from the page cache to the socket without being copied
    /// through this process (the runtime copies on other platforms). The range goes in chunks sized to the
    /// connection's pace (64 KiB to 16 MiB, about 100 ms each, and never more than a quarter of what already went), so <paramref name="sent"/> hears the running total often
    /// enough for progress and inactivity checks on fast and slow links alike. The file's position is not moved.
    /// Cancelling closes the bytestream: half a file cannot be taken back.
    /// </summary>
    /// <exception cref="EndOfStreamException">The file is shorter than <paramref name="offset"/> + <paramref name="count"/> (it shrank).</exception>
    /// <exception cref="IOException">The connection broke.</exception>
    public async Task SendFileAsync(FileStream file, long offset, long count, Action<long>? sent = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var operation = new SendFileOperation();
        using var registration = cancellationToken.Register(static state => ((Socks5Bytestream)state!).Dispose(), this);
        var chunk = MinSendFileChunk;
        long done = 0;
        while (done < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Never more than a quarter of what already went: while the kernel's socket buffers soak up the first
            // megabytes, chunks finish fast on any link, and a large chunk sized in that phase could then take longer than
            // an inactivity timeout on a slow one. After that, chunks only grow while they finish within 50 ms.
            var size = (int)Math.Min(Math.Min(chunk, Math.Max(MinSendFileChunk, done / 4)), count - done);
            if (file.Length < offset + done + size)
            {
                throw new EndOfStreamException($"The file ended at {file.Length} bytes, before {offset + count}; it shrank while being sent.");
            }

            var started = Stopwatch.GetTimestamp();
            await operation.SendAsync(Socket, file, offset + done, size).ConfigureAwait(false);
            if (operation.SocketError != SocketError.Success)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new IOException($"Sending the file over the SOCKS5 bytestream failed: {operation.SocketError}.", new SocketException((int)operation.SocketError));
            }

            if (operation.BytesTransferred != size)
            {
                // The file shrank between the length check and the send.
                throw new EndOfStreamException($"The file ended after {offset + done + operation.BytesTransferred} bytes, before {offset + count}; it shrank while being sent.");
            }

            done += size;
            sent?.Invoke(done);
            var took = Stopwatch.GetElapsedTime(started);
            chunk = took < TimeSpan.FromMilliseconds(50) ? Math.Min(chunk * 2, MaxSendFileChunk)
                : took > TimeSpan.FromMilliseconds(200) ? Math.Max(chunk / 2, MinSendFileChunk)
                : chunk;
        }
    }

    private const int MinSendFileChunk = 64 * 1024;
    // Reached only on links that move 16 MiB in under 50 ms; smaller caps cost about a fifth of loopback throughput.
    private const int MaxSendFileChunk = 16 * 1024 * 1024;

    /// <summary>Half-closes: tells the peer we will send nothing more (TCP FIN) while still reading.</summary>
    public void ShutdownSend()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException ex)
        {
            throw new BytestreamException(BytestreamErrorKind.Closed, "The SOCKS5 bytestream was reset before it could be closed.", ex);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
