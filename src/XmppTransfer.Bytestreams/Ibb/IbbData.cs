using System.Buffers;
using System.Globalization;
using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>The XEP-0047 <c>&lt;data sid seq&gt;base64&lt;/data&gt;</c> element and its strict base64 codec.</summary>
public static class IbbData
{
    public static readonly XName Name = XName.Get("data", Namespaces.Ibb);
    private static readonly SearchValues<char> s_xmlWhitespace = SearchValues.Create(" \t\r\n");

    /// <summary>Builds a data element: base64 with padding and no whitespace (XEP-0047 §2.2; Smack rejects line breaks).</summary>
    public static XElement Create(string sid, ushort seq, ReadOnlySpan<byte> chunk) => new(
        Name,
        new XAttribute("sid", sid),
        new XAttribute("seq", seq.ToString(CultureInfo.InvariantCulture)),
        Convert.ToBase64String(chunk));

    /// <summary>Reads <c>seq</c>: 0..65535, or null when missing or malformed.</summary>
    public static ushort? ParseSeq(XElement data) =>
        ushort.TryParse((string?)data?.Attribute("seq"), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : null;

    /// <summary>
    /// Decodes the payload into <paramref name="destination"/>: XML whitespace is tolerated (the XEP's
    /// own examples wrap lines), anything else outside the base64 alphabet, bad padding or a chunk
    /// longer than the destination fails. Returns the byte count, or -1 when invalid.
    /// </summary>
    public static int Decode(string text, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> chars = text;
        char[]? rented = null;
        try
        {
            if (chars.ContainsAny(s_xmlWhitespace))
            {
                rented = ArrayPool<char>.Shared.Rent(chars.Length);
                var length = 0;
                foreach (var c in chars)
                {
                    if (!s_xmlWhitespace.Contains(c))
                    {
                        rented[length++] = c;
                    }
                }

                chars = rented.AsSpan(0, length);
            }

            if (chars.Length % 4 != 0)
            {
                return -1;
            }

            return Convert.TryFromBase64Chars(chars, destination, out var written) ? written : -1;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The largest number of bytes a base64 text of this length can hold.</summary>
    public static int MaxDecodedLength(int textLength) => ((textLength + 3) / 4) * 3;
}
