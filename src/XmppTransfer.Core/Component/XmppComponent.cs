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
                // A server that refuses the name before any handshake (Prosody: host-unknown) may open its stream with an
                // empty id only to carry the stream error that follows; that error, not the id, is the news.
                var refusal = await transport.Reader.ReadElementAsync(timeout.Token).ConfigureAwait(false);
                if (refusal is not null && refusal.Name == StreamError.Name)
                {
                    throw Refused(refusal);
                }

                throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, "The server's component stream header has no id.");
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
