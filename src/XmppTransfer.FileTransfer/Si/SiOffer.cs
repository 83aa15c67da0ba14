using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.FileTransfer.Si;

/// <summary>An SI file-transfer offer (XEP-0095 §3 + XEP-0096 §3): the payload of the IQ-set.</summary>
public sealed record SiOffer(string Sid, FileOfferDescription File, IReadOnlyList<string> Methods)
{
    public static readonly XName SiName = XName.Get("si", Namespaces.Si);
    public static readonly XName FileName = XName.Get("file", Namespaces.SiFileTransfer);
    private static readonly XName s_desc = XName.Get("desc", Namespaces.SiFileTransfer);
    private static readonly XName s_range = XName.Get("range", Namespaces.SiFileTransfer);
    private static readonly XName s_hash = XName.Get("hash", Namespaces.Hashes);

    public XElement ToXml()
    {
        var file = new XElement(
            FileName,
            new XAttribute("name", File.Name),
            new XAttribute("size", File.Size.ToString(CultureInfo.InvariantCulture)));
        if (File.Date is { } date)
        {
            file.SetAttributeValue("date", date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        if (File.Md5 is not null)
        {
            file.SetAttributeValue("hash", File.Md5);
        }

        if (File.Description is not null)
        {
            file.Add(new XElement(s_desc, File.Description));
        }

        if (File.SupportsRange)
        {
            file.Add(new XElement(s_range));
        }

        if (File.Sha256 is not null)
        {
            file.Add(new XElement(s_hash, new XAttribute("algo", "sha-256"), Convert.ToBase64String(File.Sha256)));
        }

        var si = new XElement(
            SiName,
            new XAttribute("id", Sid),
            new XAttribute("mime-type", File.MimeType ?? "application/octet-stream"),
            new XAttribute("profile", Namespaces.SiFileTransfer),
            file,
            FeatureNegotiation.CreateForm(Methods));
        return si;
    }

    /// <summary>Parses an offer; a bad one throws the stanza error to answer with (bad-request, bad-profile, no-valid-streams).</summary>
    public static SiOffer Parse(XElement si)
    {
        ArgumentNullException.ThrowIfNull(si);
        var sid = (string?)si.Attribute("id");
        if (string.IsNullOrEmpty(sid) || !IsNmToken(sid))
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer has no valid id."));
        }

        if ((string?)si.Attribute("profile") != Namespaces.SiFileTransfer)
        {
            throw new XmppStanzaErrorException(
                new StanzaError(StanzaErrorType.Cancel, "bad-request", "Only the file-transfer profile is supported.", new XElement(XName.Get("bad-profile", Namespaces.Si))));
        }

        var file = si.Element(FileName) ?? throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer has no <file/>."));
        var name = (string?)file.Attribute("name");
        if (string.IsNullOrEmpty(name)
            || !long.TryParse((string?)file.Attribute("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("The <file/> needs a name and a non-negative size."));
        }

        var methods = FeatureNegotiation.ParseOptions(si);
        if (methods.Count == 0)
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer lists no stream methods."));
        }

        byte[]? sha256 = null;
        foreach (var hash in file.Elements(s_hash))
        {
            if ((string?)hash.Attribute("algo") == "sha-256")
            {
                try
                {
                    sha256 = Convert.FromBase64String(hash.Value.Trim());
                }
                catch (FormatException)
                {
                    throw new XmppStanzaErrorException(StanzaError.BadRequest("The sha-256 hash is not valid base64."));
                }

                if (sha256.Length != 32)
                {
                    throw new XmppStanzaErrorException(StanzaError.BadRequest("The sha-256 hash is not 32 bytes."));
                }
            }
        }

        var md5 = ((string?)file.Attribute("hash"))?.Trim().ToLowerInvariant();
        if (md5 is not null && (md5.Length != 32 || !md5.All(char.IsAsciiHexDigit)))
        {
            // A malformed legacy hash cannot be verified; ignore it rather than refuse the file.
            md5 = null;
        }

        DateTimeOffset? date = DateTimeOffset.TryParse((string?)file.Attribute("date"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : null;
        var description = new FileOfferDescription(name, size)
        {
            Date = date,
            Md5 = md5,
            Sha256 = sha256,
            Description = file.Element(s_desc)?.Value,
            MimeType = (string?)si.Attribute("mime-type"),
            SupportsRange = file.Element(s_range) is not null,
        };
        return new SiOffer(sid, description, methods);
    }

    private static bool IsNmToken(string value)
    {
        try
        {
            XmlConvert.VerifyNMTOKEN(value);
            return true;
        }
        catch (XmlException)
        {
            return false;
        }
    }
}
