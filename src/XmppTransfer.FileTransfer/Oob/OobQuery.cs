using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>
/// The <c>jabber:iq:oob</c> query (XEP-0066 §3): a URL the recipient downloads, an optional
/// description and sid. We add an XEP-0300 sha-256 <c>&lt;hash/&gt;</c> (extension elements are
/// ignored by peers that do not know them) so our receivers can verify the download.
/// </summary>
public sealed record OobQuery(Uri Url, string? Description = null, string? Sid = null, byte[]? Sha256 = null)
{
    public static readonly XName Name = XName.Get("query", Namespaces.OobIq);
    private static readonly XName s_url = XName.Get("url", Namespaces.OobIq);
    private static readonly XName s_desc = XName.Get("desc", Namespaces.OobIq);
    private static readonly XName s_hash = XName.Get("hash", Namespaces.Hashes);

    public XElement ToXml()
    {
        var query = new XElement(Name, new XElement(s_url, Url.AbsoluteUri));
        if (Sid is not null)
        {
            query.SetAttributeValue("sid", Sid);
        }

        if (Description is not null)
        {
            query.Add(new XElement(s_desc, Description));
        }

        if (Sha256 is not null)
        {
            query.Add(new XElement(s_hash, new XAttribute("algo", "sha-256"), Convert.ToBase64String(Sha256)));
        }

        return query;
    }

    /// <summary>Parses a query; only absolute http and https URLs are accepted (bad-request otherwise).</summary>
    public static OobQuery Parse(XElement query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = query.Element(s_url)?.Value.Trim();
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("Only absolute http and https URLs are accepted."));
        }

        byte[]? sha256 = null;
        var hash = query.Elements(s_hash).FirstOrDefault(h => (string?)h.Attribute("algo") == "sha-256");
        if (hash is not null)
        {
            try
            {
                sha256 = Convert.FromBase64String(hash.Value.Trim());
            }
            catch (FormatException)
            {
                sha256 = null;
            }

            if (sha256 is { Length: not 32 })
            {
                sha256 = null;
            }
        }

        return new OobQuery(url, query.Element(s_desc)?.Value, (string?)query.Attribute("sid"), sha256);
    }

    /// <summary>The file name the URL suggests (its last path segment), before sanitising.</summary>
    public string SuggestedName => Uri.UnescapeDataString(Url.Segments.LastOrDefault()?.Trim('/') ?? string.Empty);
}
