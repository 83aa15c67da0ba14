using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace XmppTransfer.Core.Transport.Dns;

/// <summary>
/// Reads DNS responses (RFC 1035 section 4) defensively: every length is checked against the message, compression
/// pointers may only point backwards and are counted, so a malformed or hostile message ends in an
/// <see cref="XmppConnectionException"/> of kind <see cref="XmppErrorKind.Dns"/>, never in an index error or a loop.
/// </summary>
internal static class DnsMessageReader
{
    /// <summary>More pointers than a 255-octet name can need; a backstop behind the backwards-only rule.</summary>
    private const int MaxPointerHops = 127;

    /// <summary>How many CNAMEs are followed from the query name to find the owner of the SRV records.</summary>
    private const int MaxAliasHops = 8;

    /// <summary>
    /// Whether <paramref name="message"/> answers our query: same ID, QR set, standard query, and the one question is
    /// <paramref name="queryName"/> SRV IN. Error responses without a question section are accepted on the ID alone.
    /// Anything else (short, wrong ID, other question, unreadable question) is not ours and is ignored by the caller.
    /// </summary>
    public static bool IsResponseTo(ReadOnlySpan<byte> message, ushort id, string queryName)
    {
        if (message.Length < DnsWire.HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(message) != id)
        {
            return false;
        }

        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & DnsWire.FlagResponse) == 0 || (flags & DnsWire.OpcodeMask) != 0)
        {
            return false;
        }

        ushort questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        if (questions == 0)
        {
            return (flags & DnsWire.ResponseCodeMask) != 0;
        }

        int offset = DnsWire.HeaderLength;
        if (questions != 1 || !TryReadName(message, ref offset, out string? name, out _) || offset + 4 > message.Length)
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt16BigEndian(message[offset..]) == DnsWire.TypeSrv
            && BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]) == DnsWire.ClassInternet
            && string.Equals(name, queryName, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Parses a response that <see cref="IsResponseTo"/> accepted. SRV answers owned by <paramref name="queryName"/>
    /// or by an alias reached through CNAME answers are returned; other records are skipped. The answer section of a
    /// truncated (TC) response is not read.
    /// </summary>
    /// <exception cref="XmppConnectionException">Kind <see cref="XmppErrorKind.Dns"/>: the message is malformed.</exception>
    public static DnsResponse Parse(ReadOnlySpan<byte> message, string queryName)
    {
        if (message.Length < DnsWire.HeaderLength)
        {
            throw Malformed(queryName, "the message is shorter than the DNS header");
        }

        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        var responseCode = (DnsResponseCode)(flags & DnsWire.ResponseCodeMask);
        bool truncated = (flags & DnsWire.FlagTruncated) != 0;
        if (truncated || responseCode != DnsResponseCode.NoError)
        {
            return new DnsResponse(responseCode, truncated, []);
        }

        int questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        int offset = DnsWire.HeaderLength;
        for (int i = 0; i < questions; i++)
        {
            // QNAME | QTYPE (2) | QCLASS (2)
            ReadNameOrThrow(message, ref offset, queryName);
            Need(message, offset, 4, queryName, "a question is cut short");
            offset += 4;
        }

        var services = new List<(string Owner, SrvRecord Record)>();
        var aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < answers; i++)
        {
            ReadAnswer(message, ref offset, queryName, services, aliases);
        }

        var owners = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { queryName };
        string current = queryName;
        for (int hop = 0; hop < MaxAliasHops && aliases.TryGetValue(current, out string? alias) && owners.Add(alias); hop++)
        {
            current = alias;
        }

        var records = new List<SrvRecord>(services.Count);
        foreach ((string owner, SrvRecord record) in services)
        {
            if (owners.Contains(owner))
            {
                records.Add(record);
            }
        }

        return new DnsResponse(responseCode, false, records);
    }

    private static void ReadAnswer(
        ReadOnlySpan<byte> message,
        ref int offset,
        string queryName,
        List<(string Owner, SrvRecord Record)> services,
        Dictionary<string, string> aliases)
    {
        // NAME | TYPE (2) | CLASS (2) | TTL (4) | RDLENGTH (2) | RDATA (RDLENGTH)
        string owner = ReadNameOrThrow(message, ref offset, queryName);
        Need(message, offset, 10, queryName, "a resource record header is cut short");
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
        ushort recordClass = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
        int dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
        offset += 10;
        Need(message, offset, dataLength, queryName, "RDATA runs past the end of the message");
        int dataEnd = offset + dataLength;

        if (recordClass == DnsWire.ClassInternet && type == DnsWire.TypeSrv)
        {
            // PRIORITY (2) | WEIGHT (2) | PORT (2) | TARGET (name, RFC 2782)
            if (dataLength < 7)
            {
                throw Malformed(queryName, "SRV RDATA is too short");
            }

            ushort priority = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            ushort weight = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            ushort port = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 4)..]);
            int targetOffset = offset + 6;
            string target = ReadNameOrThrow(message, ref targetOffset, queryName);
            if (targetOffset != dataEnd)
            {
                throw Malformed(queryName, "SRV RDATA length does not match its content");
            }

            services.Add((owner, new SrvRecord(priority, weight, port, target)));
        }
        else if (recordClass == DnsWire.ClassInternet && type == DnsWire.TypeCname)
        {
            int targetOffset = offset;
            string target = ReadNameOrThrow(message, ref targetOffset, queryName);
            if (targetOffset != dataEnd)
            {
                throw Malformed(queryName, "CNAME RDATA length does not match its content");
            }

            aliases.TryAdd(owner, target);
        }

        offset = dataEnd;
    }

    private static string ReadNameOrThrow(ReadOnlySpan<byte> message, ref int offset, string queryName)
    {
        return TryReadName(message, ref offset, out string? name, out string? error) ? name : throw Malformed(queryName, error);
    }

    /// <summary>
    /// Reads a possibly compressed domain name at <paramref name="offset"/> and moves <paramref name="offset"/> past
    /// its in-place part. Returns the name in presentation form without the trailing dot (the root is <c>"."</c>),
    /// or <see langword="false"/> and the reason when it is malformed.
    /// </summary>
    private static bool TryReadName(
        ReadOnlySpan<byte> message,
        ref int offset,
        [NotNullWhen(true)] out string? name,
        [NotNullWhen(false)] out string? error)
    {
        name = null;
        var builder = new StringBuilder();
        int position = offset;
        int runStart = offset;
        int end = -1;
        int wireLength = 1;
        int hops = 0;
        while (true)
        {
            if (position >= message.Length)
            {
                error = "a name runs past the end of the message";
                return false;
            }

            byte length = message[position];
            if ((length & DnsWire.PointerMask) == DnsWire.PointerMask)
            {
                // 11 | OFFSET (14 bits): the rest of the name is at OFFSET from the start of the message.
                if (position + 1 >= message.Length)
                {
                    error = "a compression pointer is cut short";
                    return false;
                }

                int target = ((length & ~DnsWire.PointerMask) << 8) | message[position + 1];
                if (end < 0)
                {
                    end = position + 2;
                }

                // Pointers must go strictly backwards from the label run they end, which rules out loops;
                // the hop count is a second guard.
                if (target >= runStart || ++hops > MaxPointerHops)
                {
                    error = "a compression pointer loops or points forward";
                    return false;
                }

                position = target;
                runStart = target;
                continue;
            }

            if ((length & DnsWire.PointerMask) != 0)
            {
                error = "a label uses an unsupported label type";
                return false;
            }

            if (length == 0)
            {
                if (end < 0)
                {
                    end = position + 1;
                }

                break;
            }

            // LENGTH (1) | OCTETS (LENGTH)
            wireLength += 1 + length;
            if (wireLength > DnsWire.MaxNameWireLength)
            {
                error = $"a name is longer than {DnsWire.MaxNameWireLength} octets";
                return false;
            }

            if (length > message.Length - position - 1)
            {
                error = "a label runs past the end of the message";
                return false;
            }

            if (builder.Length > 0)
            {
                _ = builder.Append('.');
            }

            AppendLabel(builder, message.Slice(position + 1, length));
            position += 1 + length;
        }

        offset = end;
        error = null;
        name = builder.Length == 0 ? SrvRecord.NoServiceTarget : builder.ToString();
        return true;
    }

    /// <summary>Appends a label in presentation form: dots, backslashes and non-printable octets are escaped.</summary>
    private static void AppendLabel(StringBuilder builder, ReadOnlySpan<byte> label)
    {
        foreach (byte b in label)
        {
            if (b is (byte)'.' or (byte)'\\')
            {
                _ = builder.Append('\\').Append((char)b);
            }
            else if (b is <= (byte)' ' or > (byte)'~')
            {
                _ = builder.Append('\\').Append(b.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                _ = builder.Append((char)b);
            }
        }
    }

    private static void Need(ReadOnlySpan<byte> message, int offset, int count, string queryName, string what)
    {
        if (count > message.Length - offset)
        {
            throw Malformed(queryName, what);
        }
    }

    private static XmppConnectionException Malformed(string queryName, string reason) =>
        new(XmppErrorKind.Dns, $"Malformed DNS response for '{queryName}': {reason}.");
}
