using System.Globalization;
using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer.Si;

/// <summary>
/// The receiver's acceptance (XEP-0095 §3.2, XEP-0096 §3.2): the chosen stream method(s) and an
/// optional range. We send exactly one method; we accept several (older Smack sends S5B and IBB).
/// </summary>
public sealed record SiAccept(IReadOnlyList<string> Methods, long? RangeOffset = null, long? RangeLength = null)
{
    public XElement ToXml()
    {
        // XEP-0095: the result <si/> SHOULD carry no attributes; <desc/> MUST NOT be sent back.
        var si = new XElement(SiOffer.SiName, FeatureNegotiation.CreateSubmit(Methods[0]));
        if (RangeOffset is not null || RangeLength is not null)
        {
            var range = new XElement(XName.Get("range", Namespaces.SiFileTransfer));
            if (RangeOffset is { } offset)
            {
                range.SetAttributeValue("offset", offset.ToString(CultureInfo.InvariantCulture));
            }

            if (RangeLength is { } length)
            {
                range.SetAttributeValue("length", length.ToString(CultureInfo.InvariantCulture));
            }

            si.AddFirst(new XElement(SiOffer.FileName, range));
        }

        return si;
    }

    /// <summary>Parses the result payload; null when it names no method.</summary>
    public static SiAccept? Parse(XElement? si)
    {
        if (si is null)
        {
            return null;
        }

        var methods = FeatureNegotiation.ParseSubmitValues(si);
        if (methods.Count == 0)
        {
            return null;
        }

        var range = si.Element(SiOffer.FileName)?.Element(XName.Get("range", Namespaces.SiFileTransfer));
        long? offset = long.TryParse((string?)range?.Attribute("offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : null;
        long? length = long.TryParse((string?)range?.Attribute("length"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : null;
        if (range is not null)
        {
            offset ??= 0;
        }

        return new SiAccept(methods, offset, length);
    }
}
