using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Core.Component;

/// <summary>How an external component (XEP-0114) attaches to a server. The secret never appears in <see cref="ToString"/>.</summary>
public sealed record XmppComponentOptions
{
    /// <summary>The component's address, e.g. <c>proxy.example.org</c>.</summary>
    public required Jid Jid { get; init; }

    /// <summary>The shared secret configured on the server for this component.</summary>
    public required string Secret { get; init; }

    /// <summary>The server's component host (usually loopback: XEP-0114 has no TLS).</summary>
    public required string Host { get; init; }

    /// <summary>The server's component port (e.g. 5347).</summary>
    public required int Port { get; init; }

    /// <summary>TCP connect timeout. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time from TCP connect to an accepted handshake. Default 15 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(15);

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

    public XmlLimits Limits { get; init; } = XmlLimits.Default;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Jid = ").Append(Jid).Append(", Host = ").Append(Host).Append(", Port = ").Append(Port).Append(", Secret = ***");
        return true;
    }
}
