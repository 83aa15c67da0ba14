using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core;

/// <summary>
/// How an <see cref="XmppClient"/> connects and logs in. Timeouts are documented in docs/timeouts.md.
/// The password never appears in <see cref="ToString"/>.
/// </summary>
public sealed record XmppClientOptions
{
    /// <summary>The account; a resource in it is requested at bind time (the server may assign another).</summary>
    public required Jid Jid { get; init; }

    /// <summary>The password. Read it from the environment or a file; never from a command line.</summary>
    public required string Password { get; init; }

    /// <summary>Connect to this host instead of looking up SRV records (e.g. "127.0.0.1").</summary>
    public string? Host { get; init; }

    /// <summary>The port with <see cref="Host"/>; default 5222, or 5223 with direct TLS.</summary>
    public int? Port { get; init; }

    /// <summary>STARTTLS required (default), direct TLS, or off.</summary>
    public TlsMode Tls { get; init; } = TlsMode.Required;

    /// <summary>Trust exactly the server certificate whose SHA-256 (hex, colons allowed) is this, whatever its chain or name.</summary>
    public string? TrustedCertificateSha256 { get; init; }

    /// <summary>A PEM file of CA certificates to trust instead of the system store (for self-signed servers).</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>Allow SASL PLAIN over an unencrypted stream (never by default).</summary>
    public bool AllowPlainWithoutTls { get; init; }

    /// <summary>Time to open each TCP connection. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time for everything between TCP connect and bound session (TLS, SASL, bind). Default 30 s.</summary>
    public TimeSpan NegotiationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Default wait for an IQ answer. Default 30 s.</summary>
    public TimeSpan IqTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Approximate bytes of stanzas that may wait to be written; when the server reads slower than we send, senders wait
    /// (<see cref="XmppSession.SendAsync"/>) instead of this growing. Default 4 MiB: a dozen full default IBB windows, far
    /// more than a reading server ever leaves queued. A single larger stanza still goes when the queue is empty.
    /// </summary>
    public int MaxOutgoingQueueBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long a send waits for room in a full outgoing queue before failing with a timeout. Default 30 s.</summary>
    public TimeSpan OutgoingQueueTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits on what the server may send us.</summary>
    public XmlLimits Limits { get; init; } = XmlLimits.Default;

    /// <summary>Send available presence (with entity capabilities) after binding. Default true.</summary>
    public bool SendInitialPresence { get; init; } = true;

    /// <summary>Our disco identity. Default client/pc "XmppTransfer".</summary>
    public DiscoIdentity Identity { get; init; } = new("client", "pc", "XmppTransfer");

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    internal void Validate()
    {
        if (Jid.Local is null)
        {
            throw new ArgumentException($"The account JID '{Jid}' has no local part (expected user@domain).", nameof(Jid));
        }

        if (ConnectTimeout <= TimeSpan.Zero || NegotiationTimeout <= TimeSpan.Zero || IqTimeout <= TimeSpan.Zero || OutgoingQueueTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), "Timeouts must be positive.");
        }

        if (MaxOutgoingQueueBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxOutgoingQueueBytes), "The outgoing queue limit must be positive.");
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), "The port must be between 1 and 65535.");
        }
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Jid = ").Append(Jid).Append(", Host = ").Append(Host).Append(", Port = ").Append(Port)
            .Append(", Tls = ").Append(Tls).Append(", Password = ***");
        return true;
    }
}
