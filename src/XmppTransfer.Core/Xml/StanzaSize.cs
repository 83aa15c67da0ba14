using System.Xml.Linq;

namespace XmppTransfer.Core.Xml;

/// <summary>
/// An approximate wire size of a stanza, for bounding queues: names, attribute values and text, plus an allowance
/// per element for brackets, quotes and namespace declarations. Counting characters rather than UTF-8 bytes is
/// close enough for the payloads that dominate (base64 IBB data, ASCII markup) and avoids serializing twice.
/// </summary>
internal static class StanzaSize
{
    /// <summary>Markup around each element that the names alone do not account for.</summary>
    private const int PerElement = 32;

    public static int Estimate(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        long size = 0;
        foreach (var node in stanza.DescendantNodesAndSelf())
        {
            switch (node)
            {
                case XElement element:
                    // The name appears in the start and the end tag.
                    size += PerElement + (2 * element.Name.LocalName.Length);
                    foreach (var attribute in element.Attributes())
                    {
                        size += attribute.Name.LocalName.Length + attribute.Value.Length + 4;
                    }

                    break;
                case XText text:
                    size += text.Value.Length;
                    break;
                default:
                    // Comments and processing instructions are rare in stanzas and never large here.
                    size += PerElement;
                    break;
            }
        }

        return (int)Math.Min(size, int.MaxValue);
    }
}
