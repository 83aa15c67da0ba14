using System.Buffers;
using System.Text;
using System.Xml.Linq;

namespace XmppTransfer.Core.Xml;

/// <summary>
/// Writes <see cref="XElement"/>s as UTF-8 XMPP stream content. Elements in <c>jabber:client</c> are
/// written in the stream's own content namespace without a declaration, elements of the streams
/// namespace with the <c>stream:</c> prefix declared by the header, every other namespace as a default
/// namespace declaration where it changes. Escaping follows XML 1.0; nothing is built by concatenation.
/// </summary>
internal static class StanzaSerializer
{
    private static readonly SearchValues<char> s_textSpecial = SearchValues.Create("&<>\r");
    private static readonly SearchValues<char> s_attributeSpecial = SearchValues.Create("&<>\"'\r\n\t");

    public static void Write(XElement element, string streamContentNamespace, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(element);
        WriteElement(element, streamContentNamespace, streamContentNamespace, output);
    }

    /// <summary>The opening tag of a stream we initiate or answer.</summary>
    public static void WriteStreamHeader(
        IBufferWriter<byte> output, string contentNamespace, string? to, string? from, string? id, string? language = "en")
    {
        WriteAscii(output, "<?xml version='1.0'?><stream:stream xmlns='");
        WriteEscaped(output, contentNamespace, s_attributeSpecial);
        WriteAscii(output, "' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'");
        WriteOptionalAttribute(output, "to", to);
        WriteOptionalAttribute(output, "from", from);
        WriteOptionalAttribute(output, "id", id);
        WriteOptionalAttribute(output, "xml:lang", language);
        WriteAscii(output, ">");
    }

    public static void WriteStreamFooter(IBufferWriter<byte> output) => WriteAscii(output, "</stream:stream>");

    private static void WriteElement(XElement element, string inheritedNamespace, string contentNamespace, IBufferWriter<byte> output)
    {
        var ns = element.Name.NamespaceName;
        if (ns == Namespaces.Client)
        {
            ns = contentNamespace;
        }

        var prefixed = ns == Namespaces.Streams;
        WriteAscii(output, "<");
        if (prefixed)
        {
            WriteAscii(output, "stream:");
        }

        WriteUtf8(output, element.Name.LocalName);
        var scopeNamespace = inheritedNamespace;
        if (!prefixed && ns != inheritedNamespace)
        {
            WriteAscii(output, " xmlns=\"");
            WriteEscaped(output, ns, s_attributeSpecial);
            WriteAscii(output, "\"");
            scopeNamespace = ns;
        }

        var extraPrefix = 0;
        foreach (var attribute in element.Attributes())
        {
            if (attribute.IsNamespaceDeclaration)
            {
                continue;
            }

            WriteAscii(output, " ");
            var attributeNs = attribute.Name.Namespace;
            if (attributeNs == XNamespace.Xml)
            {
                WriteAscii(output, "xml:");
            }
            else if (attributeNs != XNamespace.None)
            {
                // Rare in XMPP: declare a prefix on the spot.
                var prefix = "a" + extraPrefix++;
                WriteAscii(output, "xmlns:" + prefix + "=\"");
                WriteEscaped(output, attributeNs.NamespaceName, s_attributeSpecial);
                WriteAscii(output, "\" " + prefix + ":");
            }

            WriteUtf8(output, attribute.Name.LocalName);
            WriteAscii(output, "=\"");
            WriteEscaped(output, attribute.Value, s_attributeSpecial);
            WriteAscii(output, "\"");
        }

        if (element.IsEmpty || element.FirstNode is null)
        {
            WriteAscii(output, "/>");
            return;
        }

        WriteAscii(output, ">");
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XElement child:
                    WriteElement(child, scopeNamespace, contentNamespace, output);
                    break;
                case XText text:
                    // XCData derives from XText: written escaped, CDATA sections are not needed on the wire.
                    WriteEscaped(output, text.Value, s_textSpecial);
                    break;
                default:
                    // Comments and processing instructions are not allowed in XMPP streams: dropped.
                    break;
            }
        }

        WriteAscii(output, "</");
        if (prefixed)
        {
            WriteAscii(output, "stream:");
        }

        WriteUtf8(output, element.Name.LocalName);
        WriteAscii(output, ">");
    }

    private static void WriteOptionalAttribute(IBufferWriter<byte> output, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        WriteAscii(output, " " + name + "='");
        WriteEscaped(output, value, s_attributeSpecial);
        WriteAscii(output, "'");
    }

    private static void WriteEscaped(IBufferWriter<byte> output, string value, SearchValues<char> special)
    {
        var span = value.AsSpan();
        while (!span.IsEmpty)
        {
            var index = span.IndexOfAny(special);
            if (index < 0)
            {
                WriteUtf8(output, span);
                return;
            }

            WriteUtf8(output, span[..index]);
            WriteAscii(output, span[index] switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                '\r' => "&#xD;",
                '\n' => "&#xA;",
                '\t' => "&#x9;",
                _ => throw new InvalidOperationException("unreachable"),
            });
            span = span[(index + 1)..];
        }
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var written = Encoding.UTF8.GetBytes(text, output.GetSpan(max));
        output.Advance(written);
    }

    private static void WriteAscii(IBufferWriter<byte> output, string text) => WriteUtf8(output, text);
}
