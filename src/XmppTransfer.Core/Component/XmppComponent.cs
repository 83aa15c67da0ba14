using System.Net;
using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;

namespace XmppTransfer.Core.Component;

/// <summary>
/// An external component (XEP-0114 <c>jabber:component:accept</c>): a service such as our SOCKS5
/// proxy attached to any XMPP server. Same stanza machinery as a client; every stanza we send
/// carries our address in <c>from</c>.
/// </summary>
public sealed class XmppComponent : XmppSession
{
    private static readonly XName s_handshake = XName.Get("handshake", Namespaces.Client);

    public XmppComponent(XmppComponentOptions options)
        : base(options?.LoggerFactory, options?.IqTimeout ?? TimeSpan.FromSeconds(30), options?.OutgoingQueueTimeout ?? TimeSpan.FromSeconds(30))
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxOutgoingQueueBytes);
        Options = options;
        LocalJid = options.Jid;
    }

    public XmppComponentOptions Options { get; }

    protected override string StreamNamespace => Namespaces.Component;

    /// <summary>Connects to the server's component port and authenticates with the shared secret.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var addresses = IPAddress.TryParse(Options.Host, out var literal)
            ? [literal]
            : await System.Net.Dns.GetHostAddressesAsync(Options.Host, cancellationToken).ConfigureAwait(false);
        var transport = await XmppTransport.ConnectAsync(addresses, Options.Port, Options.ConnectTimeout, Options.Limits, Options.MaxOutgoingQueueBytes, cancellationToken)
            .ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.HandshakeTimeout);
        try
        {
            transport.RestartReader();
            await transport.SendHeaderAsync(Namespaces.Component, Options.Jid.ToString(), null, null, timeout.Token).ConfigureAwait(false);
            var header = await transport.Reader.ReadHeaderAsync(timeout.Token).ConfigureAwait(false);
            if (string.IsNullOrEmpty(header.Id))
            {
                throw await EmptyIdAsync(transport, timeout.Token).ConfigureAwait(false);
            }

            await transport.SendDirectAsync(new XElement(s_handshake, ComponentHandshake.Compute(header.Id, Options.Secret)), timeout.Token)
                .ConfigureAwait(false);
            var answer = await transport.Reader.ReadElementAsync(timeout.Token).ConfigureAwait(false)
                ?? throw new XmppConnectionException(XmppErrorKind.Authentication, "The server closed the stream instead of accepting the component handshake.");
            if (answer.Name == StreamError.Name)
            {
                throw Refused(answer);
            }

            if (answer.Name != s_handshake)
            {
                throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, $"Expected <handshake/>, got <{answer.Name.LocalName}/>.");
            }

            CoreLog.ComponentReady(Logger, Options.Jid.ToString(), Options.Host, Options.Port);
            StartSession(transport);
            transport = null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new XmppConnectionException(XmppErrorKind.Timeout, $"The component handshake with {Options.Host}:{Options.Port} timed out.");
        }
        finally
        {
            if (transport is not null)
            {
                await transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// How long a header without an id waits for the stream error that may follow it. A server that refuses the name before
    /// any handshake (Prosody: host-unknown) opens its stream with an empty id only to carry that error, written right behind
    /// the header; no handshake can start without an id, so a server that sends nothing more would otherwise hold us for
    /// the whole <see cref="XmppComponentOptions.HandshakeTimeout"/>. Listed in docs/timeouts.md.
    /// </summary>
    internal static readonly TimeSpan EmptyIdGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The failure for a stream header without an id: the server's stream error if one follows within <see cref="EmptyIdGrace"/>
    /// (that error, not the id, is the news), else a protocol violation. The caller's cancel and the handshake timeout
    /// (<paramref name="handshakeToken"/>) still end the wait as before.
    /// </summary>
    private async Task<Exception> EmptyIdAsync(XmppTransport transport, CancellationToken handshakeToken)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(handshakeToken);
        grace.CancelAfter(EmptyIdGrace);
        XElement? refusal;
        try
        {
            refusal = await transport.Reader.ReadElementAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!handshakeToken.IsCancellationRequested)
        {
            return new XmppConnectionException(
                XmppErrorKind.ProtocolViolation,
                $"The server's component stream header has no id, and no stream error followed within {EmptyIdGrace.TotalSeconds:0.#} s: "
                + $"no handshake is possible (is {Options.Host}:{Options.Port} a component port that serves {Options.Jid}?).");
        }

        return refusal is not null && refusal.Name == StreamError.Name
            ? Refused(refusal)
            : new XmppConnectionException(XmppErrorKind.ProtocolViolation, "The server's component stream header has no id.");
    }

    /// <summary>
    /// The server's stream error refusing this component, as an <see cref="XmppErrorKind.Authentication"/> failure whose
    /// inner <see cref="XmppStreamErrorException"/> carries the condition, so that a caller can tell a refusal that will
    /// not change by retrying (<c>host-unknown</c>, <c>not-authorized</c>) from one that may (<c>conflict</c>).
    /// </summary>
    private XmppConnectionException Refused(XElement error)
    {
        var (condition, text) = StreamError.Parse(error);
        var hint = condition switch
        {
            "host-unknown" => "the server has no component of that name",
            "not-authorized" => "check the secret",
            _ => "check the name and secret",
        };
        return new XmppConnectionException(
            XmppErrorKind.Authentication,
            $"The server refused component {Options.Jid}: {condition}{(text is null ? string.Empty : " - " + text.TrimEnd('.'))} ({hint}).",
            new XmppStreamErrorException(condition, text, sentByUs: false));
    }

    private protected override void PrepareOutgoing(XElement stanza)
    {
        // XEP-0114 §3: after the handshake every stanza must carry 'from' (our domain or a JID at it).
        if (stanza.Attribute("from") is null)
        {
            stanza.SetAttributeValue("from", Options.Jid.ToString());
        }
    }
}
