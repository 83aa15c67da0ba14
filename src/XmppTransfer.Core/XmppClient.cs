using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Core;

/// <summary>
/// An XMPP client connection (RFC 6120/6121): connect, secure, authenticate and bind with
/// <see cref="ConnectAsync"/>, then send and receive stanzas through <see cref="XmppSession"/>.
/// Also tracks the presence of others so that bare JIDs can be resolved to available resources.
/// </summary>
public sealed partial class XmppClient : XmppSession
{
    private readonly Roster.PresenceTracker _presence = new();

    public XmppClient(XmppClientOptions options)
        : base(options?.LoggerFactory, options?.IqTimeout ?? TimeSpan.FromSeconds(30), options?.OutgoingQueueTimeout ?? TimeSpan.FromSeconds(30))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Disco.AddIdentity(options.Identity);
        PresenceReceived += _presence.Observe;
    }

    public XmppClientOptions Options { get; }

    /// <summary>The full JID the server bound us to (set after <see cref="ConnectAsync"/>).</summary>
    public Jid BoundJid => LocalJid ?? throw new InvalidOperationException("The client is not connected.");

    /// <summary>Who is online: the presence we received, by full JID.</summary>
    public Roster.PresenceTracker Presence => _presence;

    /// <summary>The SASL mechanism used to log in (e.g. SCRAM-SHA-256-PLUS).</summary>
    public string? SaslMechanism { get; private set; }

    /// <summary>True when the stream is encrypted (STARTTLS or direct TLS).</summary>
    public bool IsTls { get; private set; }

    protected override string StreamNamespace => Namespaces.Client;

    /// <summary>Sends available presence carrying our current entity capabilities (XEP-0115).</summary>
    public ValueTask SendPresenceAsync(CancellationToken cancellationToken = default) =>
        SendAsync(new XElement(Stanza.Presence, Disco.CreateCapsElement()), cancellationToken);
}
