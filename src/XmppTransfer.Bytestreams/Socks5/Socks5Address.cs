using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// The SOCKS5 DST.ADDR of a XEP-0065 bytestream: <c>lowercase_hex(SHA1(UTF8(sid + requester JID + target JID)))</c>.
/// </summary>
public static class Socks5Address
{
    /// <summary>Length of the hex DST.ADDR in characters (and bytes on the wire).</summary>
    public const int Length = 40;

    /// <summary>Computes the DST.ADDR from the JIDs exactly as used in the IQ exchange.</summary>
    public static string Compute(string sid, string requesterJid, string targetJid)
    {
        ArgumentNullException.ThrowIfNull(sid);
        ArgumentNullException.ThrowIfNull(requesterJid);
        ArgumentNullException.ThrowIfNull(targetJid);

        int maxBytes = Encoding.UTF8.GetMaxByteCount(sid.Length + requesterJid.Length + targetJid.Length);
        byte[]? rented = null;
        Span<byte> input = maxBytes <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int written = Encoding.UTF8.GetBytes(sid, input);
            written += Encoding.UTF8.GetBytes(requesterJid, input[written..]);
            written += Encoding.UTF8.GetBytes(targetJid, input[written..]);
            Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
            SHA1.HashData(input[..written], hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>True when <paramref name="value"/> is 40 hex digits (either case).</summary>
    public static bool IsValid(string? value)
    {
        if (value is null || value.Length != Length)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
