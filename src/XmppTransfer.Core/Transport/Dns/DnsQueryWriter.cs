using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace XmppTransfer.Core.Transport.Dns;

/// <summary>Builds the one kind of query the client sends: recursion desired, one question, QTYPE SRV, QCLASS IN.</summary>
internal static class DnsQueryWriter
{
    /// <summary>
    /// Validates a query name and returns it without a trailing dot. Names are ASCII (IDNs must be in A-label form),
    /// labels are 1 to 63 octets of printable characters, and the encoded name is at most 255 octets.
    /// </summary>
    /// <exception cref="ArgumentException">The name cannot be sent as a DNS question.</exception>
    public static string NormalizeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryNormalizeName(name, out string? normalized, out string? error)
            ? normalized
            : throw new ArgumentException($"'{name}' is not a valid DNS query name: {error}", nameof(name));
    }

    /// <inheritdoc cref="NormalizeName(string)"/>
    public static bool TryNormalizeName(string name, [NotNullWhen(true)] out string? normalized, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        normalized = null;
        string trimmed = name.EndsWith('.') ? name[..^1] : name;
        if (trimmed.Length == 0)
        {
            error = "the name is empty";
            return false;
        }

        // Wire length: one length octet per label plus the label octets plus the terminating root label.
        if (trimmed.Length + 2 > DnsWire.MaxNameWireLength)
        {
            error = $"the encoded name is longer than {DnsWire.MaxNameWireLength} octets";
            return false;
        }

        int labelLength = 0;
        foreach (char c in trimmed)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    error = "it contains an empty label";
                    return false;
                }

                labelLength = 0;
                continue;
            }

            if (c is <= ' ' or > '~' or '\\')
            {
                error = "only printable ASCII is allowed (convert IDNs to A-labels first)";
                return false;
            }

            if (++labelLength > DnsWire.MaxLabelLength)
            {
                error = $"a label is longer than {DnsWire.MaxLabelLength} octets";
                return false;
            }
        }

        if (labelLength == 0)
        {
            error = "it contains an empty label";
            return false;
        }

        normalized = trimmed;
        error = null;
        return true;
    }

    /// <summary>Encodes a query for the SRV records of <paramref name="name"/> (already normalized).</summary>
    public static byte[] BuildSrvQuery(ushort id, string name)
    {
        string normalized = NormalizeName(name);

        // Header | QNAME (labels, then the root label 0) | QTYPE (2) | QCLASS (2)
        byte[] query = new byte[DnsWire.HeaderLength + normalized.Length + 2 + 4];
        Span<byte> span = query;
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], DnsWire.FlagRecursionDesired);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1); // QDCOUNT; ANCOUNT, NSCOUNT, ARCOUNT stay 0

        int offset = DnsWire.HeaderLength;
        foreach (Range label in normalized.AsSpan().Split('.'))
        {
            ReadOnlySpan<char> text = normalized.AsSpan(label);
            span[offset++] = (byte)text.Length;
            foreach (char c in text)
            {
                span[offset++] = (byte)c;
            }
        }

        span[offset++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[offset..], DnsWire.TypeSrv);
        BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], DnsWire.ClassInternet);
        return query;
    }
}
