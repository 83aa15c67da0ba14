using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// Helpers for the SCRAM message syntax of RFC 5802 §7: comma-separated <c>x=value</c> attributes, printable
/// nonces and the <c>=2C</c>/<c>=3D</c> escaping of user names.
/// </summary>
internal static class ScramAttributes
{
    /// <summary>The most bytes we accept in any single SCRAM message from the peer.</summary>
    public const int MaxMessageLength = 4096;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes a peer message as strict UTF-8; null when it is too long or not UTF-8.</summary>
    public static string? TryDecode(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageLength)
        {
            return null;
        }

        try
        {
            return s_strictUtf8.GetString(message);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// Splits <c>a=1,b=2</c> into attributes in order. Null when a part is not a single ASCII letter followed by
    /// <c>=</c>. Values never contain commas (RFC 5802 escapes them), so splitting on commas is exact.
    /// </summary>
    public static List<KeyValuePair<char, string>>? TryParse(string message)
    {
        var parts = message.Split(',');
        var attributes = new List<KeyValuePair<char, string>>(parts.Length);
        foreach (var part in parts)
        {
            if (part.Length < 2 || !char.IsAsciiLetter(part[0]) || part[1] != '=')
            {
                return null;
            }

            attributes.Add(new(part[0], part[2..]));
        }

        return attributes;
    }

    /// <summary>The value of the first attribute named <paramref name="name"/>, or null.</summary>
    public static string? Find(List<KeyValuePair<char, string>> attributes, char name)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Key == name)
            {
                return attribute.Value;
            }
        }

        return null;
    }

    /// <summary>RFC 5802 <c>printable</c>: %x21-2B / %x2D-7E, i.e. visible ASCII except the comma.</summary>
    public static bool IsValidNonce(string nonce)
    {
        if (nonce.Length == 0)
        {
            return false;
        }

        foreach (var c in nonce)
        {
            if (c < 0x21 || c > 0x7E || c == ',')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>saslname encoding: <c>=</c> becomes <c>=3D</c> and <c>,</c> becomes <c>=2C</c>.</summary>
    public static string EscapeUsername(string username) =>
        username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);

    /// <summary>Reverses <see cref="EscapeUsername"/>; null when an <c>=</c> starts anything but <c>=2C</c> or <c>=3D</c>.</summary>
    public static string? TryUnescapeUsername(string saslname)
    {
        if (!saslname.Contains('=', StringComparison.Ordinal))
        {
            return saslname;
        }

        var builder = new StringBuilder(saslname.Length);
        for (var i = 0; i < saslname.Length; i++)
        {
            var c = saslname[i];
            if (c != '=')
            {
                builder.Append(c);
                continue;
            }

            if (i + 2 >= saslname.Length)
            {
                return null;
            }

            var escape = saslname.AsSpan(i + 1, 2);
            if (escape.SequenceEqual("2C"))
            {
                builder.Append(',');
            }
            else if (escape.SequenceEqual("3D"))
            {
                builder.Append('=');
            }
            else
            {
                return null;
            }

            i += 2;
        }

        return builder.ToString();
    }

    /// <summary>Decodes strict base64 (no whitespace); null when invalid.</summary>
    public static byte[]? TryFromBase64(string value)
    {
        if (value.Length == 0 || value.Length % 4 != 0 || value.AsSpan().ContainsAny(" \t\r\n"))
        {
            return null;
        }

        var buffer = new byte[value.Length / 4 * 3];
        if (!Convert.TryFromBase64String(value, buffer, out var written))
        {
            return null;
        }

        return buffer.AsSpan(0, written).ToArray();
    }
}
