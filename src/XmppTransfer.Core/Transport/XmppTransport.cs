using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using System.Xml.Linq;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Transport;

/// <summary>
/// One TCP connection carrying an XML stream: the socket, the optional TLS layer, the current
/// XML reader (replaced at every stream restart) and one writer loop. During negotiation the owner
/// writes directly; once the session starts, every write goes through the writer loop so that
/// stanzas from many tasks never interleave and small stanzas are batched into one send.
/// </summary>
internal sealed class XmppTransport : IAsyncDisposable
{
    private const int BatchBytes = 64 * 1024;
    private readonly Socket _socket;
    private readonly XmlLimits _limits;
    private readonly Channel<XElement> _outgoing = Channel.CreateUnbounded<XElement>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Stream _stream;
    private XmppXmlReader? _reader;
    private Task? _writerLoop;
    private string _contentNamespace = Namespaces.Client;
    private int _disposed;

    public XmppTransport(Socket socket, XmlLimits limits)
    {
        _socket = socket;
        _limits = limits;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public SslStream? Tls { get; private set; }

    public Socket Socket => _socket;

    public bool IsTls => Tls is not null;

    public XmppXmlReader Reader => _reader ?? throw new InvalidOperationException("The stream has not been (re)started.");

    /// <summary>Connects to the first address that answers within <paramref name="connectTimeout"/> each.</summary>
    public static async Task<XmppTransport> ConnectAsync(
        IReadOnlyList<System.Net.IPAddress> addresses, int port, TimeSpan connectTimeout, XmlLimits limits, CancellationToken cancellationToken)
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
                return new XmppTransport(socket, limits);
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
    public async Task StartTlsAsClientAsync(SslClientAuthenticationOptions options, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new XmppConnectionException(XmppErrorKind.Tls, "TLS negotiation failed: " + ex.Message, ex);
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

    /// <summary>Starts a fresh XML parser: the peer begins a new document after TLS and SASL.</summary>
    public void RestartReader()
    {
        _reader?.Dispose();
        _reader = new XmppXmlReader(_stream, _limits);
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

    /// <summary>Hands writing over to the writer loop; from now on use <see cref="Enqueue"/>.</summary>
    public void StartWriter() => _writerLoop = Task.Run(WriteLoopAsync);

    /// <summary>Queues a stanza for the writer loop. Never blocks: the protocols above bound what is in flight.</summary>
    public bool Enqueue(XElement stanza) => _outgoing.Writer.TryWrite(stanza);

    /// <summary>Completes when the writer loop ends (faults when a write failed).</summary>
    public Task WriterCompletion => _writerLoop ?? Task.CompletedTask;

    /// <summary>Sends a stream error (if any) and our closing tag, after everything already queued.</summary>
    public async Task CloseStreamAsync(XElement? streamError, TimeSpan drainTimeout)
    {
        if (streamError is not null)
        {
            _outgoing.Writer.TryWrite(streamError);
        }

        _outgoing.Writer.TryComplete();
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

        _outgoing.Writer.TryComplete();
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
        var reader = _outgoing.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                await _writeLock.WaitAsync().ConfigureAwait(false);
                try
                {
                    _buffer.ResetWrittenCount();
                    while (_buffer.WrittenCount < BatchBytes && reader.TryRead(out var element))
                    {
                        StanzaSerializer.Write(element, _contentNamespace, _buffer);
                    }

                    await _stream.WriteAsync(_buffer.WrittenMemory).ConfigureAwait(false);
                    await _stream.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            _outgoing.Writer.TryComplete(ex);
            throw new XmppConnectionException(XmppErrorKind.Connection, "The connection dropped while sending: " + ex.Message, ex);
        }
    }
}
