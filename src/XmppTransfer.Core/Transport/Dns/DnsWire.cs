namespace XmppTransfer.Core.Transport.Dns;

/// <summary>Constants of the DNS message format (RFC 1035 section 4, RFC 2782).</summary>
/// <remarks>
/// Header, 12 octets, all fields big-endian:
/// <code>
///   0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |                      ID                       |
/// |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
/// |                    QDCOUNT                    |
/// |                    ANCOUNT                    |
/// |                    NSCOUNT                    |
/// |                    ARCOUNT                    |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// </code>
/// </remarks>
internal static class DnsWire
{
    public const int HeaderLength = 12;
    public const int UdpResponseBufferSize = 4096;
    public const int MaxNameWireLength = 255;
    public const int MaxLabelLength = 63;

    public const ushort FlagResponse = 0x8000;
    public const ushort FlagTruncated = 0x0200;
    public const ushort FlagRecursionDesired = 0x0100;
    public const ushort OpcodeMask = 0x7800;
    public const ushort ResponseCodeMask = 0x000F;

    public const ushort TypeCname = 5;
    public const ushort TypeSrv = 33;
    public const ushort ClassInternet = 1;

    /// <summary>The two top bits of a length octet that mark a compression pointer (RFC 1035 section 4.1.4).</summary>
    public const byte PointerMask = 0xC0;
}
