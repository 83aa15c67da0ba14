using System.Diagnostics;
using System.Net;
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
    private readonly bool _mappedSendOnLoopback;
    private byte[]? _oneByte;
    private int _disposed;
    private Action? _forgetPeer;

    internal Socks5Bytestream(Socket socket, NetworkStream stream, string sid, Jid peer, Jid streamHost, bool viaProxy, bool mappedSendOnLoopback)
    {
        _mappedSendOnLoopback = mappedSendOnLoopback;
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

    /// <summary>
    /// Cancelled when <see cref="Peer"/>'s full JID sends unavailable presence while this bytestream is open, on either side
    /// (<see cref="Socks5BytestreamManager.ConnectAsync"/>'s bytestreams, and the target's from
    /// <see cref="Socks5BytestreamManager.WaitExpectedAsync"/>, watched from the offer on). Only a hint: presence says the peer's XMPP
    /// session ended, not that this connection did (an invisible peer, or one whose client exits after reading the last
    /// byte, is still on the other end), so nothing here is closed; the caller decides how long it still waits.
    /// </summary>
    public CancellationToken PeerUnavailable { get; private set; }

    /// <summary>The manager's watch of the peer's presence, handed over on success; dropped on dispose.</summary>
    internal void WatchPeer(CancellationTokenSource unavailable, Action forget)
    {
        PeerUnavailable = unavailable.Token;
        _forgetPeer = forget;
    }

    /// <summary>The connected socket, for zero-copy sends and half-closes.</summary>
    public Socket Socket { get; }

    /// <summary>Bytes <see cref="SendFileAsync"/> sent from memory mappings rather than with sendfile (tests check the path taken).</summary>
    internal long MappedBytes { get; private set; }

    /// <summary>Times a mapped send found the socket full and waited for room (tests check the wait-and-resume path).</summary>
    internal int MappedWaits { get; private set; }

    /// <summary>The connection as a stream (owns the socket).</summary>
    public Stream Stream => _stream;

    /// <summary>
    /// Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> without copying them
    /// through a buffer of ours. To a peer on another machine the kernel's sendfile(2) sends them straight from the page
    /// cache (the runtime copies on platforms without it). To a peer on this machine (a loopback connection) they are
    /// copied into the socket from a memory mapping of the file instead (<see cref="Socks5BytestreamOptions.MappedSendOnLoopback"/>;
    /// direct connections only: through a proxy the receiver may be anywhere):
    /// there the receiver's copy into its own page cache is the slowest step, and it runs faster from data this side just
    /// wrote than from cold file pages. sendfile takes over wherever the file cannot be mapped. The range goes in chunks,
    /// so <paramref name="sent"/> hears the running total often enough for progress and inactivity checks on fast and slow
    /// links alike. The file's position is not moved. Cancelling closes the bytestream: half a file cannot be taken back.
    /// </summary>
    /// <exception cref="EndOfStreamException">The file is shorter than <paramref name="offset"/> + <paramref name="count"/> (it shrank).</exception>
    /// <exception cref="IOException">The connection broke, or reading the file failed.</exception>
    public async Task SendFileAsync(FileStream file, long offset, long count, Action<long>? sent = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var registration = cancellationToken.Register(static state => ((Socks5Bytestream)state!).Dispose(), this);
        long done = 0;
        if (_mappedSendOnLoopback && !ViaProxy && MappedSendNative.IsSupported && IsLoopbackConnection())
        {
            done = await SendMappedAsync(file, offset, count, sent, cancellationToken).ConfigureAwait(false);
        }

        await SendWithSendFileAsync(file, offset, count, done, sent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The bytes a mapped send maps at a time: few mmap calls, and little added to the process's resident memory.</summary>
    internal const int MappedWindow = 4 * 1024 * 1024;

    /// <summary>The bytes one send of a mapped window hands to the socket: progress (and the inactivity watchdog) hears of each.</summary>
    private const int MappedSlice = 1024 * 1024;

    /// <summary>
    /// Sends from memory mappings of the file, <see cref="MappedWindow"/> bytes at a time, with send(2) calls that never
    /// block; when the socket is full, the runtime waits for room by sending the next single byte asynchronously.
    /// The first window is mapped and sent off the caller's thread, and the thread is let go every 64 MiB after.
    /// </summary>
    /// <returns>The bytes sent: all of them, or fewer when the file could not be mapped (sendfile goes on from there).</returns>
    private async Task<long> SendMappedAsync(FileStream file, long offset, long count, Action<long>? sent, CancellationToken cancellationToken)
    {
        long done = 0;
        while (done < count)
        {
            if (done % MappedYieldEvery == 0)
            {
                // While the receiver keeps up no send waits, and these sends copy (and MAP_POPULATE reads the disk) on this
                // thread: start on the pool and let the thread go now and then, so timers and the XMPP session are not held
                // up behind a long transfer. Onto the pool, never back to a caller's context (a UI thread must not run these).
                await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var size = (int)Math.Min(MappedWindow, count - done);
            ThrowIfShrunk(file, offset, count, done + size);
            using var window = MappedFileWindow.TryMap(file.SafeFileHandle, offset + done, size);
            if (window is null)
            {
                return done;
            }

            var at = 0;
            while (at < size)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (n, errno) = SendNow(window, at, Math.Min(MappedSlice, size - at), cancellationToken);
                if (n <= 0)
                {
                    switch (errno)
                    {
                        case MappedSendNative.EINTR:
                            continue;
                        case MappedSendNative.EFAULT:
                            throw ReadFailed(file, offset, count, done + size);
                        default:
                            // EAGAIN (the socket is full): the runtime waits for room. Anything else: the runtime's send of the
                            // same byte fails too, and says how (SocketException), or goes through after a passing hiccup.
                            MappedWaits += errno == MappedSendNative.EAGAIN ? 1 : 0;
                            n = await SendOneByteAsync(file, offset, count, done + at, cancellationToken).ConfigureAwait(false);
                            break;
                    }
                }

                at += (int)n;
                MappedBytes += n;
                sent?.Invoke(done + at);
            }

            done += size;
        }

        return done;
    }

    /// <summary>Bytes a mapped send copies between two yields of its thread (a multiple of <see cref="MappedWindow"/>).</summary>
    private const long MappedYieldEvery = 16L * MappedWindow;

    /// <summary>One send(2) that never blocks; a socket closed by our cancellation is the cancellation.</summary>
    private (nint Sent, int Errno) SendNow(MappedFileWindow window, int at, int length, CancellationToken cancellationToken)
    {
        try
        {
            return window.SendTo(Socket, at, length);
        }
        catch (ObjectDisposedException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The send was cancelled.", ex, cancellationToken);
        }
    }

    /// <summary>
    /// The runtime's async send of the byte at <paramref name="position"/>, which waits until the socket has room (bounded
    /// by the token). The byte is read from the file into a buffer of ours, never taken from the mapping: the runtime may
    /// read a send buffer itself (network tracing logs it), and a read of a mapping cut short is SIGBUS.
    /// </summary>
    private async Task<int> SendOneByteAsync(FileStream file, long offset, long count, long position, CancellationToken cancellationToken)
    {
        var oneByte = _oneByte ??= new byte[1];
        int read;
        try
        {
            read = RandomAccess.Read(file.SafeFileHandle, oneByte, offset + position);
        }
        catch (IOException ex)
        {
            throw new IOException("Reading the file to send over the SOCKS5 bytestream failed: " + ex.Message, ex);
        }

        if (read == 0)
        {
            throw Shrank(file, offset, count);
        }

        try
        {
            return await Socket.SendAsync(oneByte, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new IOException($"Sending the file over the SOCKS5 bytestream failed: {ex.SocketErrorCode}.", ex);
        }
        catch (ObjectDisposedException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The send was cancelled.", ex, cancellationToken);
        }
    }

    /// <summary>
    /// The kernel could not read the mapped pages of the window that ends at <paramref name="windowEnd"/> (counted from
    /// <paramref name="offset"/>): the file was cut short under the mapping (the usual cause, reported as with sendfile),
    /// or the disk failed. The fault is met a little before the new end (the kernel copies in blocks), so the test is
    /// whether the file still holds the whole window.
    /// </summary>
    private static Exception ReadFailed(FileStream file, long offset, long count, long windowEnd, Exception? inner = null) =>
        file.Length < offset + windowEnd
            ? Shrank(file, offset, count, inner)
            : new IOException("Reading the file to send over the SOCKS5 bytestream failed (an I/O error, or the file changed under the send).", inner);

    /// <summary>Sends the range from <paramref name="done"/> on with sendfile(2), in chunks sized to the connection's pace.</summary>
    private async Task SendWithSendFileAsync(FileStream file, long offset, long count, long done, Action<long>? sent, CancellationToken cancellationToken)
    {
        using var operation = new SendFileOperation();
        var chunk = MinSendFileChunk;
        while (done < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Never more than a quarter of what already went: while the kernel's socket buffers soak up the first
            // megabytes, chunks finish fast on any link, and a large chunk sized in that phase could then take longer than
            // an inactivity timeout on a slow one. After that, chunks only grow while they finish within 50 ms.
            var size = (int)Math.Min(Math.Min(chunk, Math.Max(MinSendFileChunk, done / 4)), count - done);
            ThrowIfShrunk(file, offset, count, done + size);
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

    private static void ThrowIfShrunk(FileStream file, long offset, long count, long needed)
    {
        if (file.Length < offset + needed)
        {
            throw Shrank(file, offset, count);
        }
    }

    private static EndOfStreamException Shrank(FileStream file, long offset, long count, Exception? inner = null) =>
        new($"The file ended at {file.Length} bytes, before {offset + count}; it shrank while being sent.", inner);

    /// <summary>The peer's end of the connection is on this machine (127.0.0.0/8, ::1, or either mapped into IPv6).</summary>
    private bool IsLoopbackConnection()
    {
        try
        {
            return Socket.RemoteEndPoint is IPEndPoint { Address: var address }
                && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return false;
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
            _forgetPeer?.Invoke();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
