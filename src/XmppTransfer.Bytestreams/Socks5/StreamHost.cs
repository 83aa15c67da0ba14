using System.Globalization;
using System.Net;
using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// A <c>&lt;streamhost jid host port/&gt;</c> of XEP-0065: where a bytestream can be reached. A missing port means 1080
/// (§4.5); unknown children (Psi's <c>&lt;proxy xmlns='http://affinix.com/jabber/stream'/&gt;</c>) are ignored.
/// </summary>
internal sealed record StreamHost(Jid Jid, string Host, int Port)
{
    public const int DefaultPort = 1080;

    public static readonly XName Name = XName.Get("streamhost", Namespaces.Bytestreams);

    /// <summary>Parses a streamhost; null when the jid or host is missing or malformed, or the port is out of range.</summary>
    public static StreamHost? Parse(XElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        var host = ((string?)element.Attribute("host"))?.Trim();
        if (!Jid.TryParse((string?)element.Attribute("jid"), out var jid) || string.IsNullOrEmpty(host))
        {
            return null;
        }

        var portText = (string?)element.Attribute("port");
        var port = DefaultPort;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return null;
        }

        return new StreamHost(jid, host, port);
    }

    /// <summary>True when <see cref="Host"/> is an IP literal in 127.0.0.0/8 or ::1 (no name resolution).</summary>
    public bool IsLoopback => IPAddress.TryParse(Host, out var address) && IPAddress.IsLoopback(address);

    public XElement ToXml() => new(
        Name,
        new XAttribute("jid", Jid.ToString()),
        new XAttribute("host", Host),
        new XAttribute("port", Port.ToString(CultureInfo.InvariantCulture)));
}
