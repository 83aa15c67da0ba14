using System.Buffers.Binary;
using System.Text;

namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>Writes DNS messages for tests, with optional name compression, independently of the code under test.</summary>
internal sealed class DnsMessageBuilder(bool compress = true)
{
    private readonly List<byte> _bytes = [];
    private readonly Dictionary<string, int> _names = new(StringComparer.OrdinalIgnoreCase);

    public int Length => _bytes.Count;

    /// <summary>A whole response: header, the question, and the answers (owners and targets compressed if asked).</summary>
    public static byte[] Response(
        ushort id,
        ushort flags,
        string questionName,
        ushort questionType,
        IReadOnlyList<FakeDnsRecord> answers,
        bool compress = true)
    {
        var builder = new DnsMessageBuilder(compress);
        builder.UInt16(id).UInt16(flags).UInt16(1).UInt16((ushort)answers.Count).UInt16(0).UInt16(0);
        builder.Name(questionName).UInt16(questionType).UInt16(1);
        foreach (FakeDnsRecord answer in answers)
        {
            builder.Name(answer.Owner ?? questionName).UInt16(answer.Type).UInt16(1).UInt32(300);
            int lengthAt = builder.Length;
            builder.UInt16(0);
            if (answer.Type == FakeDnsRecord.TypeSrv)
            {
                builder.UInt16(answer.Priority).UInt16(answer.Weight).UInt16(answer.Port);
            }

            builder.Name(answer.Target);
            builder.SetUInt16(lengthAt, (ushort)(builder.Length - lengthAt - 2));
        }

        return builder.ToArray();
    }

    /// <summary>
    /// A response that copies the query's ID and question, sets <paramref name="flags"/> and ANCOUNT, and appends
    /// <paramref name="answerSection"/> as it is (to build malformed answers).
    /// </summary>
    public static byte[] EchoQuestion(byte[] query, ushort answerCount, byte[] answerSection, ushort flags = 0x8180)
    {
        byte[] message = [.. query, .. answerSection];
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), answerCount);
        return message;
    }

    public DnsMessageBuilder UInt16(ushort value)
    {
        _bytes.Add((byte)(value >> 8));
        _bytes.Add((byte)value);
        return this;
    }

    public DnsMessageBuilder UInt32(uint value) => UInt16((ushort)(value >> 16)).UInt16((ushort)value);

    public DnsMessageBuilder Bytes(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public DnsMessageBuilder Name(string name)
    {
        string[] labels = name is "." or "" ? [] : name.TrimEnd('.').Split('.');
        for (int i = 0; i < labels.Length; i++)
        {
            string suffix = string.Join('.', labels[i..]);
            if (compress && _names.TryGetValue(suffix, out int offset))
            {
                return UInt16((ushort)(0xC000 | offset));
            }

            if (_bytes.Count < 0x3FFF)
            {
                _names.TryAdd(suffix, _bytes.Count);
            }

            byte[] label = Encoding.ASCII.GetBytes(labels[i]);
            _bytes.Add((byte)label.Length);
            _bytes.AddRange(label);
        }

        _bytes.Add(0);
        return this;
    }

    public void SetUInt16(int offset, ushort value)
    {
        _bytes[offset] = (byte)(value >> 8);
        _bytes[offset + 1] = (byte)value;
    }

    public byte[] ToArray() => [.. _bytes];
}
