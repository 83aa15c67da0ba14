using System.Net;

namespace XmppTransfer.Proxy;

/// <summary>
/// An address the proxy advertises in its <c>&lt;streamhost/&gt;</c> answers (XEP-0065 §4.1), like Openfire's
/// <c>xmpp.proxy.externalip</c>: a public IP or a DNS name that resolves to the proxy, separate from the bind address.
/// </summary>
/// <param name="Host">IP literal (IPv6 is rendered in RFC 5952 form) or DNS name.</param>
/// <param name="Port">TCP port; null advertises the port of the proxy's first listener.</param>
public sealed record ProxyStreamHost(string Host, int? Port = null)
{
    /// <summary>Parses <c>HOST</c>, <c>HOST:PORT</c>, <c>[IPv6]</c> or <c>[IPv6]:PORT</c>.</summary>
    /// <exception cref="FormatException">The text is not a host with an optional port in 1..65535.</exception>
    public static ProxyStreamHost Parse(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        string text = value.Trim();
        if (IPAddress.TryParse(text, out IPAddress? bare) && !text.StartsWith('['))
        {
            // A plain IPv6 literal has colons but no port.
            return new ProxyStreamHost(bare.ToString());
        }

        string host = text;
        int? port = null;
        int colon = text.LastIndexOf(':');
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"'{value}' has no closing ']'.");
            }

            host = text[1..close];
            if (close + 1 < text.Length)
            {
                port = text[close + 1] == ':' ? ParsePort(text[(close + 2)..], value) : throw new FormatException($"'{value}' is not HOST[:PORT].");
            }
        }
        else if (colon >= 0)
        {
            host = text[..colon];
            port = ParsePort(text[(colon + 1)..], value);
        }

        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '[' or ']'))
        {
            throw new FormatException($"'{value}' has no valid host.");
        }

        return new ProxyStreamHost(IPAddress.TryParse(host, out IPAddress? address) ? address.ToString() : host, port);
    }

    /// <summary>The host as advertised: IP literals in canonical form (RFC 5952 for IPv6), names as given.</summary>
    internal string AdvertisedHost => IPAddress.TryParse(Host, out IPAddress? address) ? address.ToString() : Host;

    private static int ParsePort(string text, string value) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? port
            : throw new FormatException($"'{value}' has no valid port (1..65535).");
}
