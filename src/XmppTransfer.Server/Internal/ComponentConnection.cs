using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;
using XmppTransfer.Core.Xml;
using XmppTransfer.Server.Components;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// An external component attached over XEP-0114 (<c>jabber:component:accept</c>):
/// <code>
/// C: &lt;stream:stream xmlns='jabber:component:accept' to='name'&gt;   S: &lt;stream:stream from='name' id='ID'&gt;
/// C: &lt;handshake&gt;hex(SHA1(ID + secret))&lt;/handshake&gt;               S: &lt;handshake/&gt;  (else not-authorized)
/// </code>
/// Unknown names get <c>host-unknown</c>, a name already attached <c>conflict</c>. Wrong handshakes are throttled like
/// failed logins (<see cref="AuthThrottle"/>: delayed answers, lock-out per address and per component from an address).
/// Stanzas from the component must come from its domain (else <c>invalid-from</c>). A component that stops reading is closed with <c>policy-violation</c>
/// once its queue has stayed full for <see cref="ServerOptions.OutgoingQueueTimeout"/>, as client sessions are.
/// </summary>
internal sealed class ComponentConnection : IServerComponent, IAsyncDisposable
{
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(2);
    private static readonly XName s_handshake = XName.Get("handshake", Namespaces.Client);
    private readonly EmbeddedXmppServer _server;
    private readonly XmppTransport _transport;
    private readonly IPAddress _remoteAddress;
    private bool _headerSent;
    private bool _attached;
    private int _closing;
    private int _notReading;

    public ComponentConnection(EmbeddedXmppServer server, Socket socket)
    {
        _server = server;
        _remoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        _transport = new XmppTransport(
            socket,
            new XmlLimits { MaxStanzaBytes = server.Options.MaxStanzaBytes },
            server.Options.MaxOutgoingQueueBytes,
            server.Options.TimeProvider)
        {
            // Until the handshake succeeds the peer may use only XML names the process knows (see WireNames).
            AdmitNewNames = false,
        };
    }

    public string Domain { get; private set; } = string.Empty;

    public string? Name => null;

    public bool Deliver(XElement stanza)
    {
        var result = _transport.TryEnqueue(stanza);
        if (result == EnqueueResult.Full)
        {
            CheckOutgoing();
        }

        return result != EnqueueResult.Full;
    }

    /// <summary>Closes a component that has not read its stream for <see cref="ServerOptions.OutgoingQueueTimeout"/> (see <see cref="C2sConnection.CheckOutgoing"/>).</summary>
    public void CheckOutgoing()
    {
        var stalled = _transport.OutgoingStalledFor;
        if (stalled < _server.Options.OutgoingQueueTimeout || Volatile.Read(ref _closing) != 0 || Interlocked.Exchange(ref _notReading, 1) != 0)
        {
            return;
        }

        ServerLog.NotReading(_server.Logger, "Component " + Domain, _remoteAddress, stalled.TotalSeconds, _transport.QueuedBytes);
        _server.Track(CloseAsync(
            "policy-violation",
            $"The stream was not read for {stalled.TotalSeconds:0} s while stanzas for it were waiting.",
            discardQueued: true));
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    public async Task RunAsync()
    {
        try
        {
            using (var negotiation = CancellationTokenSource.CreateLinkedTokenSource(_server.StopToken))
            {
                negotiation.CancelAfter(_server.Options.HeaderTimeout);
                await HandshakeAsync(negotiation.Token).ConfigureAwait(false);
            }

            if (!_attached)
            {
                return;
            }

            ServerLog.ComponentAttached(_server.Logger, Domain, _remoteAddress);
            _transport.StartWriter();
            while (await _transport.Reader.ReadElementAsync(CancellationToken.None).ConfigureAwait(false) is { } element)
            {
                if (element.Name == StreamError.Name)
                {
                    return;
                }

                if (element.Name != Stanza.Iq && element.Name != Stanza.Message && element.Name != Stanza.Presence)
                {
                    throw new XmppStreamErrorException("unsupported-stanza-type", $"<{element.Name.LocalName}/> is not a stanza.", sentByUs: true);
                }

                var from = Stanza.GetFrom(element);
                if (from is null || from.Domain != Domain)
                {
                    throw new XmppStreamErrorException("invalid-from", "Stanzas from a component must come from its domain.", sentByUs: true);
                }

                _server.Router.RouteFromComponent(this, element);
            }

            await CloseAsync(null, null).ConfigureAwait(false);
        }
        catch (XmppStreamErrorException ex) when (ex.SentByUs)
        {
            await CloseAsync(ex.Condition, ex.Text).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await CloseAsync(_server.StopToken.IsCancellationRequested ? "system-shutdown" : "connection-timeout", null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppException or IOException or SocketException or ObjectDisposedException or XmlLimitExceededException)
        {
            ServerLog.ConnectionEnded(_server.Logger, _remoteAddress, ex.Message);
        }
        catch (Exception ex)
        {
            // As for a client stream: a defect of ours (two input-driven ones reached here before the XML reader and the JID
            // checks were fixed) ends this component's stream with a stream error and a logged trace, never a task that fails
            // unobserved while the component is left talking to a closed socket.
            ServerLog.ConnectionFailed(_server.Logger, _remoteAddress, ex);
            await CloseAsync("internal-server-error", null).ConfigureAwait(false);
        }
        finally
        {
            if (_attached)
            {
                _server.Router.Detach(this);
                _server.Metrics.ComponentClosed();
                ServerLog.ComponentDetached(_server.Logger, Domain);
            }

            await _transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the stream with an optional stream error (shutdown, violations).</summary>
    public async Task CloseAsync(string? condition, string? text, bool discardQueued = false)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        if (condition is not null)
        {
            _server.Metrics.StreamError();
            ServerLog.StreamErrorSent(_server.Logger, _remoteAddress, condition, text);
            if (!_headerSent)
            {
                using var timeout = new CancellationTokenSource(s_closeTimeout);
                try
                {
                    await _transport.SendHeaderAsync(Namespaces.Component, null, Domain.Length == 0 ? null : Domain, Stanza.NewId(), timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is XmppException or OperationCanceledException or IOException or ObjectDisposedException)
                {
                    return;
                }
            }
        }

        await _transport.CloseStreamAsync(condition is null ? null : StreamError.Create(condition, text), s_closeTimeout, discardQueued).ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        _transport.RestartReader();
        var header = await _transport.Reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        if (header.ContentNamespace != Namespaces.Component)
        {
            throw new XmppStreamErrorException("invalid-namespace", "This port serves jabber:component:accept streams.", sentByUs: true);
        }

        if (!Jid.TryParse(header.To, out var name) || name.Local is not null || name.Resource is not null
            || !TryGetSecret(name.Domain, out var secret))
        {
            ServerLog.ComponentRefused(_server.Logger, header.To ?? "(none)", _remoteAddress, "unknown component name");
            throw new XmppStreamErrorException("host-unknown", "No component of that name is configured.", sentByUs: true);
        }

        Domain = name.Domain;
        var streamId = Stanza.NewId();
        await _transport.SendHeaderAsync(Namespaces.Component, null, Domain, streamId, cancellationToken).ConfigureAwait(false);
        _headerSent = true;
        var handshake = await _transport.Reader.ReadElementAsync(cancellationToken).ConfigureAwait(false);
        if (handshake is null || handshake.Name == StreamError.Name)
        {
            return;
        }

        // Failed handshakes are throttled as failed logins are (AuthThrottle), the component's name as the account; the
        // attempt holds its place from before the check to its outcome, so parallel handshakes cannot pass a threshold.
        var account = ThrottleAccount(Domain);
        using (var attempt = _server.Throttle.TryBeginAttempt(_remoteAddress, account))
        {
            var expected = Encoding.ASCII.GetBytes(ComponentHandshake.Compute(streamId, secret));
            var given = Encoding.ASCII.GetBytes(handshake.Name == s_handshake ? handshake.Value.Trim().ToLowerInvariant() : string.Empty);
            if (attempt is null || !CryptographicOperations.FixedTimeEquals(expected, given))
            {
                _server.Metrics.AuthFailed();
                ServerLog.ComponentRefused(_server.Logger, Domain, _remoteAddress, attempt is null ? "refused by the failed-login throttle (docs/server.md)" : "wrong handshake");
                var delay = attempt?.Fail() ?? _server.Throttle.RecordRefusal(_remoteAddress, account);
                await Task.Delay(delay, _server.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
                throw new XmppStreamErrorException(
                    "not-authorized",
                    attempt is null ? "Too many failed handshakes for this component from this address; try later." : "The handshake does not match the configured secret.",
                    sentByUs: true);
            }

            attempt.Succeed();
        }

        _server.Metrics.AuthSucceeded();
        _transport.AdmitNewNames = true;

        if (!_server.Router.TryAttach(this))
        {
            ServerLog.ComponentRefused(_server.Logger, Domain, _remoteAddress, "already attached");
            throw new XmppStreamErrorException("conflict", "A component with this name is already attached.", sentByUs: true);
        }

        _attached = true;
        _server.Metrics.ComponentOpened();
        await _transport.SendDirectAsync(new XElement(s_handshake), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The throttle's account for a component: ':' cannot occur in a user name, so the two never share counts.</summary>
    private static string ThrottleAccount(string domain) => "component:" + domain.ToLowerInvariant();

    private bool TryGetSecret(string domain, out string secret)
    {
        foreach (var (name, value) in _server.Options.ComponentSecrets)
        {
            if (string.Equals(name.TrimEnd('.'), domain, StringComparison.OrdinalIgnoreCase))
            {
                secret = value;
                return true;
            }
        }

        secret = string.Empty;
        return false;
    }
}
