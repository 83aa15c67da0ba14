using System.Text;

namespace XmppTransfer.Bytestreams.Socks5.Wire;

/// <summary>Constants and frame builders of the XEP-0065 profile of SOCKS5 (RFC 1928).</summary>
internal static class Socks5Frame
{
    public const byte Version = 0x05;
    public const byte MethodNoAuthentication = 0x00;
    public const byte MethodNoneAcceptable = 0xFF;
    public const byte CommandConnect = 0x01;
    public const byte AddressTypeIPv4 = 0x01;
    public const byte AddressTypeDomainName = 0x03;
    public const byte AddressTypeIPv6 = 0x04;

    /// <summary>VER NMETHODS METHODS[255].</summary>
    public const int MaxGreetingLength = 2 + 255;

    /// <summary>VER CMD|REP RSV ATYP LEN DST.ADDR[40] DST.PORT[2] = 47 bytes.</summary>
    public const int AddressFrameLength = 5 + Socks5Address.Length + 2;

    /// <summary>Longest reply a client may read: VER REP RSV ATYP LEN ADDR[255] PORT[2].</summary>
    public const int MaxReplyLength = 5 + 255 + 2;

    /// <summary>A failure reply with BND.ADDR 0.0.0.0 and BND.PORT 0, used when there is no DST.ADDR to echo.</summary>
    public const int FailureReplyLength = 10;

    /// <summary>Human-readable meaning of a REP code, for error messages.</summary>
    public static string Describe(byte rep) => rep switch
    {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned code",
    };

    /// <summary>
    /// Writes <c>05 second 00 03 28 &lt;40 ascii&gt; 00 00</c>: a CONNECT request (second = CMD 01)
    /// or a reply echoing DST.ADDR and port 0 (second = REP).
    /// </summary>
    public static int WriteAddressFrame(Span<byte> destination, byte second, string dstAddr)
    {
        if (!Socks5Address.IsValid(dstAddr))
        {
            throw new ArgumentException("DST.ADDR must be 40 hex characters.", nameof(dstAddr));
        }

        destination[0] = Version;
        destination[1] = second;
        destination[2] = 0x00;
        destination[3] = AddressTypeDomainName;
        destination[4] = Socks5Address.Length;
        int written = Encoding.ASCII.GetBytes(dstAddr, destination.Slice(5, Socks5Address.Length));
        destination[5 + written] = 0x00;
        destination[6 + written] = 0x00;
        return AddressFrameLength;
    }

    /// <summary>Writes <c>05 rep 00 01 00 00 00 00 00 00</c>.</summary>
    public static int WriteFailureReply(Span<byte> destination, byte rep)
    {
        destination[..FailureReplyLength].Clear();
        destination[0] = Version;
        destination[1] = rep;
        destination[3] = AddressTypeIPv4;
        return FailureReplyLength;
    }

    /// <summary>Accepts 40 ASCII hex digits of either case and returns them lower-cased.</summary>
    public static bool TryNormalizeAddress(ReadOnlySpan<byte> ascii, out string dstAddr)
    {
        dstAddr = string.Empty;
        if (ascii.Length != Socks5Address.Length)
        {
            return false;
        }

        foreach (byte b in ascii)
        {
            if (!char.IsAsciiHexDigit((char)b))
            {
                return false;
            }
        }

        dstAddr = Encoding.ASCII.GetString(ascii).ToLowerInvariant();
        return true;
    }

    /// <summary>ASCII comparison of an echoed address with the one we sent, ignoring hex case.</summary>
    public static bool EchoMatches(ReadOnlySpan<byte> echoed, string dstAddr)
    {
        if (echoed.Length != dstAddr.Length)
        {
            return false;
        }

        for (int i = 0; i < echoed.Length; i++)
        {
            if (char.ToLowerInvariant((char)echoed[i]) != char.ToLowerInvariant(dstAddr[i]))
            {
                return false;
            }
        }

        return true;
    }
}
