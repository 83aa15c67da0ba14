using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// One client connection (RFC 6120): STARTTLS or direct TLS, SASL, resource binding, then the session's read loop
/// handing stanzas to the <see cref="Router"/>. Stanzas for the session are queued on its transport's writer loop.
/// Any protocol violation ends the stream with the matching stream error; the server keeps serving everyone else.
/// A client that stops reading is closed with <c>policy-violation</c> once its queue has stayed full for
/// <see cref="ServerOptions.OutgoingQueueTimeout"/>.
/// </summary>
internal sealed partial class C2sConnection : IStanzaSink, IAsyncDisposable
{
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(2);
    private readonly EmbeddedXmppServer _server;
    private readonly XmppTransport _transport;
    private readonly bool _directTls;
    private int _closing;
    private int _notReading;
    private bool _headerSent;
    private string? _user;
    private string? _mechanism;
    private long _lastActivity;
    private int _pinged;
    private int _authFailures;

    public C2sConnection(EmbeddedXmppServer server, Socket socket, bool directTls)
    {
        _server = server;
        _directTls = directTls;
        RemoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        _transport = new XmppTransport(
            socket,
            new XmlLimits { MaxStanzaBytes = server.Options.MaxStanzaBytes },
            server.Options.MaxOutgoingQueueBytes,
            server.Options.TimeProvider)
        {
            // Until the login succeeds the peer may use only XML names the process knows (see WireNames).
            AdmitNewNames = false,
        };
        _lastActivity = server.Options.TimeProvider.GetTimestamp();
    }

    public IPAddress RemoteAddress { get; }

    /// <summary>The bound address; set by the router at bind.</summary>
    public Jid? FullJid { get; set; }

    /// <summary>True while the router holds the session (guarded by the router's lock).</summary>
    public bool IsBound { get; set; }

    /// <summary>The last available presence broadcast, null when unavailable (guarded by the router's lock).</summary>
    public XElement? Presence { get; set; }

    /// <summary>The priority of <see cref="Presence"/>.</summary>
    public int Priority { get; set; }

    /// <summary>Completes when the connection is gone.</summary>
    public Task? Completion { get; set; }

    public bool Deliver(XElement stanza)
    {
        var result = _transport.TryEnqueue(stanza);
        if (result == EnqueueResult.Full)
        {
            CheckOutgoing();
        }

        // A closing session drops what still comes: its unavailable presence follows.
        return result != EnqueueResult.Full;
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    /// <summary>Serves the connection until it ends; never throws.</summary>
    public async Task RunAsync()
    {
        var options = _server.Options;
        try
        {
            bool bound;
            using (var negotiation = CancellationTokenSource.CreateLinkedTokenSource(_server.StopToken))
            {
                negotiation.CancelAfter(options.NegotiationTimeout);
                bound = await NegotiateAsync(negotiation.Token).ConfigureAwait(false);
            }

            if (bound)
            {
                await SessionLoopAsync().ConfigureAwait(false);
            }
        }
        catch (XmppStreamErrorException ex) when (ex.SentByUs)
        {
            await FailAsync(ex.Condition, ex.Text).ConfigureAwait(false);
        }
        catch (XmlLimitExceededException ex)
        {
            await FailAsync("policy-violation", ex.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await FailAsync(
                _server.StopToken.IsCancellationRequested ? "system-shutdown" : "connection-timeout",
                _server.StopToken.IsCancellationRequested ? "The server is shutting down." : "The stream was not set up in time.").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppException or IOException or SocketException or ObjectDisposedException
            or System.Security.Authentication.AuthenticationException)
        {
            ServerLog.ConnectionEnded(_server.Logger, RemoteAddress, ex.Message);
        }
        catch (Exception ex)
        {
            ServerLog.ConnectionFailed(_server.Logger, RemoteAddress, ex);
            await FailAsync("internal-server-error", null).ConfigureAwait(false);
        }
        finally
        {
            _server.Router.Unbind(this);
            if (FullJid is not null && _user is not null)
            {
                ServerLog.SessionEnded(_server.Logger, FullJid.ToString());
            }

            await _transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes the stream from outside the read loop (conflict, shutdown, idle): the stream error and our closing tag
    /// after whatever is queued, then up to <paramref name="grace"/> for the client to close before the socket goes.
    /// </summary>
    public async Task CloseAsync(string? condition, string? text, TimeSpan grace, bool discardQueued = false)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        if (condition is not null)
        {
            _server.Metrics.StreamError();
            ServerLog.StreamErrorSent(_server.Logger, RemoteAddress, condition, text);
        }

        await _transport.CloseStreamAsync(condition is null ? null : StreamError.Create(condition, text), s_closeTimeout, discardQueued).ConfigureAwait(false);
        if (Completion is { } completion)
        {
            try
            {
                await completion.WaitAsync(grace).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException)
            {
            }
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Called by the server's sweeper: pings a silent session, then closes it with <c>connection-timeout</c>.</summary>
    public void CheckIdle()
    {
        if (!IsBound || Volatile.Read(ref _closing) != 0)
        {
            return;
        }

        var options = _server.Options;
        var idle = options.TimeProvider.GetElapsedTime(Interlocked.Read(ref _lastActivity));
        if (idle >= options.IdleTimeout + options.PingTimeout && Volatile.Read(ref _pinged) == 1)
        {
            _server.Track(CloseAsync("connection-timeout", "No traffic and no answer to a ping.", s_closeTimeout));
        }
        else if (idle >= options.IdleTimeout && Interlocked.Exchange(ref _pinged, 1) == 0)
        {
            var ping = Stanza.MakeIq(IqType.Get, FullJid, new XElement(XName.Get("ping", Namespaces.Ping)));
            ping.SetAttributeValue("from", _server.Router.Domain);
            Deliver(ping);
        }
    }

    /// <summary>
    /// Called when a delivery is refused and by the server's sweeper: a client whose outgoing queue has been full with no
    /// write completing for <see cref="ServerOptions.OutgoingQueueTimeout"/> is not reading its socket. It is closed with
    /// <c>policy-violation</c> (RFC 6120 §4.9.3.14: it broke the server's limit on unread data), the queued stanzas are
    /// discarded so the error is next on the wire, and its memory is freed.
    /// </summary>
    public void CheckOutgoing()
    {
        var stalled = _transport.OutgoingStalledFor;
        if (stalled < _server.Options.OutgoingQueueTimeout || Volatile.Read(ref _closing) != 0 || Interlocked.Exchange(ref _notReading, 1) != 0)
        {
            return;
        }

        ServerLog.NotReading(_server.Logger, FullJid?.ToString() ?? "A client", RemoteAddress, stalled.TotalSeconds, _transport.QueuedBytes);
        _server.Track(CloseAsync(
            "policy-violation",
            $"The stream was not read for {stalled.TotalSeconds:0} s while stanzas for it were waiting.",
            s_closeTimeout,
            discardQueued: true));
    }

    private async Task SessionLoopAsync()
    {
        _transport.StartWriter();
        while (true)
        {
            var element = await _transport.Reader.ReadElementAsync(CancellationToken.None).ConfigureAwait(false);
            if (element is null)
            {
                // The client closed its stream: close ours.
                await CloseAsync(null, null, TimeSpan.Zero).ConfigureAwait(false);
                return;
            }

            Interlocked.Exchange(ref _lastActivity, _server.Options.TimeProvider.GetTimestamp());
            Volatile.Write(ref _pinged, 0);
            if (element.Name == StreamError.Name)
            {
                return;
            }

            if (element.Name != Stanza.Iq && element.Name != Stanza.Message && element.Name != Stanza.Presence)
            {
                throw new XmppStreamErrorException("unsupported-stanza-type", $"<{element.Name.LocalName}/> is not a stanza this server knows.", sentByUs: true);
            }

            _server.Router.RouteFromSession(this, element);
        }
    }

    private async Task FailAsync(string condition, string? text)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _server.Metrics.StreamError();
        ServerLog.StreamErrorSent(_server.Logger, RemoteAddress, condition, text);
        if (!_headerSent)
        {
            // RFC 6120 §4.9.1.1: a stream error before our header still needs the header first.
            using var timeout = new CancellationTokenSource(s_closeTimeout);
            try
            {
                await _transport.SendHeaderAsync(Namespaces.Client, null, _server.Router.Domain, Stanza.NewId(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is XmppException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                return;
            }
        }

        await _transport.CloseStreamAsync(StreamError.Create(condition, text), s_closeTimeout).ConfigureAwait(false);
    }

    private SslServerAuthenticationOptions TlsOptions() => new()
    {
        ServerCertificateContext = _server.CertificateContext,
        ApplicationProtocols = _directTls ? [new SslApplicationProtocol("xmpp-client")] : null,
        ClientCertificateRequired = false,
    };
}
