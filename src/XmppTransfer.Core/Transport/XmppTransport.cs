using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Transport;

/// <summary>
/// One TCP connection carrying an XML stream: the socket, the optional TLS layer, the current
/// XML reader (replaced at every stream restart) and one writer loop. During negotiation the owner
/// writes directly; once the session starts, every write goes through the writer loop so that
/// stanzas from many tasks never interleave and small stanzas are batched into one send. What waits for the
/// writer loop is bounded by an <see cref="OutgoingQueue"/>.
/// </summary>
internal sealed class XmppTransport : IAsyncDisposable
{
    private const int BatchBytes = 64 * 1024;
    private readonly Socket _socket;
    private readonly XmlLimits _limits;
    private bool _admitNewNames = true;
    private readonly OutgoingQueue _outgoing;
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Stream _stream;
    private XmppXmlReader? _reader;
    private Task? _writerLoop;
    private string _contentNamespace = Namespaces.Client;
    private int _disposed;

    /// <param name="socket">The connected socket; the transport owns it.</param>
    /// <param name="limits">Limits on what the peer may send.</param>
    /// <param name="maxQueuedBytes">Approximate bytes of stanzas that may wait for the writer loop.</param>
    /// <param name="timeProvider">The clock of the outgoing queue's timeouts and stall clock.</param>
    public XmppTransport(Socket socket, XmlLimits limits, int maxQueuedBytes, TimeProvider? timeProvider = null)
    {
        _socket = socket;
        _limits = limits;
        _outgoing = new OutgoingQueue(maxQueuedBytes, timeProvider);
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public SslStream? Tls { get; private set; }

    public Socket Socket => _socket;

    public bool IsTls => Tls is not null;

    public XmppXmlReader Reader => _reader ?? throw new InvalidOperationException("The stream has not been (re)started.");

    /// <summary>Connects to the first address that answers within <paramref name="connectTimeout"/> each.</summary>
    public static async Task<XmppTransport> ConnectAsync(
        IReadOnlyList<System.Net.IPAddress> addresses,
        int port,
        TimeSpan connectTimeout,
        XmlLimits limits,
        int maxQueuedBytes,
        CancellationToken cancellationToken)
    {
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            try
            {
                await socket.ConnectAsync(address, port, timeout.Token).ConfigureAwait(false);
                return new XmppTransport(socket, limits, maxQueuedBytes);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                last = new TimeoutException($"Connecting to {address}:{port} took longer than {connectTimeout.TotalSeconds:0.#} s.");
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new XmppConnectionException(
            last is TimeoutException ? XmppErrorKind.Timeout : XmppErrorKind.Connection,
            $"Could not connect to port {port} on {string.Join(", ", addresses)}: {last?.Message ?? "no addresses"}.",
            last);
    }

    /// <summary>Wraps the connection in TLS as a client (after &lt;proceed/&gt;, or at once for direct TLS).</summary>
    /// <param name="options">The TLS client options.</param>
    /// <param name="directTls">TLS from the first byte (XEP-0368): a server that answers in plain XML is a STARTTLS port.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    public async Task StartTlsAsClientAsync(SslClientAuthenticationOptions options, bool directTls, CancellationToken cancellationToken)
    {
        var watched = directTls ? new FirstByteStream(_stream) : null;
        var ssl = new SslStream(watched ?? _stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);

            // A TLS record starts with its content type (0x14-0x18); '<' is the server's XML stream header or stream error.
            var hint = watched?.FirstByte == '<' ? " (the server answered in plain XML: is this a STARTTLS port? Try STARTTLS, --tls required in xft)" : "";
            throw new XmppConnectionException(XmppErrorKind.Tls, "TLS negotiation failed: " + ex.Message.TrimEnd('.') + hint + ".", ex);
        }

        Tls = ssl;
        _stream = ssl;
    }

    /// <summary>Wraps the connection in TLS as a server.</summary>
    public async Task StartTlsAsServerAsync(SslServerAuthenticationOptions options, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new XmppConnectionException(XmppErrorKind.Tls, "TLS negotiation failed: " + ex.Message, ex);
        }

        Tls = ssl;
        _stream = ssl;
    }

    /// <summary>
    /// Whether the peer may bring XML names this process has not met (<see cref="XmppXmlReader.AdmitNewNames"/>), for
    /// this reader and the ones after a restart. A server keeps it false until the peer has authenticated.
    /// </summary>
    public bool AdmitNewNames
    {
        get => _admitNewNames;
        set
        {
            _admitNewNames = value;
            if (_reader is not null)
            {
                _reader.AdmitNewNames = value;
            }
        }
    }

    /// <summary>Starts a fresh XML parser: the peer begins a new document after TLS and SASL.</summary>
    public void RestartReader()
    {
        _reader?.Dispose();
        _reader = new XmppXmlReader(_stream, _limits) { AdmitNewNames = _admitNewNames };
    }

    /// <summary>Sends our stream header directly (negotiation phase).</summary>
    public Task SendHeaderAsync(string contentNamespace, string? to, string? from, string? id, CancellationToken cancellationToken)
    {
        _contentNamespace = contentNamespace;
        return WriteDirectAsync(buffer => StanzaSerializer.WriteStreamHeader(buffer, contentNamespace, to, from, id), cancellationToken);
    }

    /// <summary>Sends one element directly (negotiation phase, before <see cref="StartWriter"/>).</summary>
    public Task SendDirectAsync(XElement element, CancellationToken cancellationToken) =>
        WriteDirectAsync(buffer => StanzaSerializer.Write(element, _contentNamespace, buffer), cancellationToken);

    /// <summary>Hands writing over to the writer loop; from now on use <see cref="TryEnqueue"/> or <see cref="EnqueueAsync"/>.</summary>
    public void StartWriter() => _writerLoop = Task.Run(WriteLoopAsync);

    /// <summary>Queues a stanza for the writer loop if the outgoing queue has room; never waits.</summary>
    public EnqueueResult TryEnqueue(XElement stanza) => _outgoing.TryEnqueue(stanza);

    /// <summary>Queues a stanza, waiting at most <paramref name="timeout"/> for room (see <see cref="OutgoingQueue.EnqueueAsync"/>).</summary>
    public ValueTask EnqueueAsync(XElement stanza, TimeSpan timeout, CancellationToken cancellationToken) =>
        _outgoing.EnqueueAsync(stanza, timeout, cancellationToken);

    /// <summary>Approximate bytes waiting for the writer loop.</summary>
    public long QueuedBytes => _outgoing.QueuedBytes;

    /// <summary>How long the outgoing queue has been full without a write completing (see <see cref="OutgoingQueue.StalledFor"/>).</summary>
    public TimeSpan OutgoingStalledFor => _outgoing.StalledFor;

    /// <summary>Completes when the writer loop ends (faults when a write failed).</summary>
    public Task WriterCompletion => _writerLoop ?? Task.CompletedTask;

    /// <summary>
    /// Sends a stream error (if any) and our closing tag, after everything already queued, or instead of it with
    /// <paramref name="discardQueued"/> (for a peer that stopped reading: the error would never get past the queue).
    /// </summary>
    public async Task CloseStreamAsync(XElement? streamError, TimeSpan drainTimeout, bool discardQueued = false)
    {
        _outgoing.Complete(streamError, discardQueued);
        if (_writerLoop is not null)
        {
            try
            {
                await _writerLoop.WaitAsync(drainTimeout).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The peer may already be gone; closing is best effort.
                return;
            }
        }
        else if (streamError is not null)
        {
            using var timeout = new CancellationTokenSource(drainTimeout);
            try
            {
                await SendDirectAsync(streamError, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return;
            }
        }

        using var cts = new CancellationTokenSource(drainTimeout);
        try
        {
            await WriteDirectAsync(StanzaSerializer.WriteStreamFooter, cts.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _outgoing.Complete(discardQueued: true);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        await _stream.DisposeAsync().ConfigureAwait(false);
        _reader?.Dispose();
        if (_writerLoop is not null)
        {
            try
            {
                await _writerLoop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already reported through WriterCompletion.
            }
        }

        _writeLock.Dispose();
    }

    private async Task WriteDirectAsync(Action<ArrayBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _buffer.ResetWrittenCount();
            write(_buffer);
            await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw new XmppConnectionException(XmppErrorKind.Connection, "The connection dropped while sending: " + ex.Message, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (await _outgoing.WaitToReadAsync().ConfigureAwait(false))
            {
                await _writeLock.WaitAsync().ConfigureAwait(false);
                try
                {
                    _buffer.ResetWrittenCount();
                    while (_buffer.WrittenCount < BatchBytes && _outgoing.TryDequeue(out var element))
                    {
                        StanzaSerializer.Write(element, _contentNamespace, _buffer);
                    }

                    // Closing may have discarded what WaitToReadAsync saw.
                    if (_buffer.WrittenCount > 0)
                    {
                        await _stream.WriteAsync(_buffer.WrittenMemory).ConfigureAwait(false);
                        await _stream.FlushAsync().ConfigureAwait(false);
                        _outgoing.OnWritten();
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            var failure = new XmppConnectionException(XmppErrorKind.Connection, "The connection dropped while sending: " + ex.Message, ex);
            _outgoing.Complete(discardQueued: true, reason: failure);
            throw failure;
        }
    }
}
