using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>The XEP-0047 <c>&lt;open sid block-size stanza/&gt;</c> element.</summary>
public sealed record IbbOpen(string Sid, int BlockSize, IbbStanzaKind Stanza)
{
    public static readonly XName Name = XName.Get("open", Namespaces.Ibb);

    /// <summary>Parses and validates an open; a bad one throws the stanza error to answer with (bad-request).</summary>
    public static IbbOpen Parse(XElement open)
    {
        ArgumentNullException.ThrowIfNull(open);
        var sid = (string?)open.Attribute("sid");
        if (string.IsNullOrEmpty(sid) || !IsNmToken(sid))
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("The open has no valid sid."));
        }

        if (!int.TryParse((string?)open.Attribute("block-size"), NumberStyles.None, CultureInfo.InvariantCulture, out var blockSize)
            || blockSize is < 1 or > 65535)
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("block-size must be between 1 and 65535."));
        }

        var kind = (string?)open.Attribute("stanza") switch
        {
            null or "iq" => IbbStanzaKind.Iq,
            "message" => IbbStanzaKind.Message,
            _ => throw new XmppStanzaErrorException(StanzaError.BadRequest("stanza must be 'iq' or 'message'.")),
        };
        return new IbbOpen(sid, blockSize, kind);
    }

    public XElement ToXml() => new(
        Name,
        new XAttribute("sid", Sid),
        new XAttribute("block-size", BlockSize.ToString(CultureInfo.InvariantCulture)),
        new XAttribute("stanza", Stanza == IbbStanzaKind.Iq ? "iq" : "message"));

    internal static bool IsNmToken(string value)
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
