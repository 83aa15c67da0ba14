using XmppTransfer.Core.Transport.Dns;

namespace XmppTransfer.Core.Tests.Transport.Dns;

public sealed class DnsMessageReaderTests
{
    private const string Name = "_xmpp-client._tcp.example.com";
    private const ushort Id = 0x1234;
    private const ushort NoErrorFlags = 0x8180;

    private static readonly IEqualityComparer<DnsResponse> s_dnsResponseComparer = EqualityComparer<DnsResponse>.Create(
        (a, b) => a!.ResponseCode == b!.ResponseCode && a.IsTruncated == b.IsTruncated && a.Records.SequenceEqual(b.Records));

    private static byte[] ValidResponse() => DnsMessageBuilder.Response(Id, NoErrorFlags, Name, 33, [
        FakeDnsRecord.Srv(10, 20, 5222, "xmpp.example.com"),
        FakeDnsRecord.Srv(30, 40, 5223, "tls.example.com"),
    ]);

    [Fact]
    public void The_query_carries_id_rd_one_question_and_srv_in()
    {
        byte[] query = DnsQueryWriter.BuildSrvQuery(0xBEEF, "_xmpp-client._tcp.example.com");

        byte[] expected = [
            0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
            12, .. "_xmpp-client"u8, 4, .. "_tcp"u8, 7, .. "example"u8, 3, .. "com"u8, 0,
            0, 33, 0, 1,
        ];
        Assert.Equal(expected, query);
    }

    [Fact]
    public void The_builder_used_by_the_tests_really_compresses()
    {
        byte[] compressed = ValidResponse();
        byte[] plain = DnsMessageBuilder.Response(Id, NoErrorFlags, Name, 33, [
            FakeDnsRecord.Srv(10, 20, 5222, "xmpp.example.com"),
            FakeDnsRecord.Srv(30, 40, 5223, "tls.example.com"),
        ], compress: false);

        Assert.True(compressed.Length < plain.Length);
        DnsResponse parsed = DnsMessageReader.Parse(compressed, Name);
        Assert.Equal([new SrvRecord(10, 20, 5222, "xmpp.example.com"), new SrvRecord(30, 40, 5223, "tls.example.com")], parsed.Records);
        Assert.Equal(DnsMessageReader.Parse(plain, Name), parsed, s_dnsResponseComparer);
    }

    [Fact]
    public void A_response_is_matched_on_id_question_and_qr_with_the_name_compared_case_insensitively()
    {
        byte[] response = ValidResponse();

        Assert.True(DnsMessageReader.IsResponseTo(response, Id, Name.ToUpperInvariant()));
        Assert.False(DnsMessageReader.IsResponseTo(response, Id + 1, Name));
        Assert.False(DnsMessageReader.IsResponseTo(response, Id, "_xmpps-client._tcp.example.com"));
        Assert.False(DnsMessageReader.IsResponseTo(DnsMessageBuilder.Response(Id, 0x0100, Name, 33, []), Id, Name)); // QR clear
        Assert.False(DnsMessageReader.IsResponseTo(DnsMessageBuilder.Response(Id, NoErrorFlags, Name, 1, []), Id, Name)); // type A
        Assert.False(DnsMessageReader.IsResponseTo(response.AsSpan(0, 11), Id, Name));
    }

    [Fact]
    public void An_error_response_without_a_question_is_accepted_on_its_id()
    {
        byte[] formErr = [0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] noErrorWithoutQuestion = [0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];

        Assert.True(DnsMessageReader.IsResponseTo(formErr, Id, Name));
        Assert.Equal(DnsResponseCode.FormatError, DnsMessageReader.Parse(formErr, Name).ResponseCode);
        Assert.False(DnsMessageReader.IsResponseTo(noErrorWithoutQuestion, Id, Name));
    }

    [Fact]
    public void Labels_with_dots_or_unprintable_octets_come_back_escaped()
    {
        var builder = new DnsMessageBuilder(compress: false);
        builder.UInt16(Id).UInt16(NoErrorFlags).UInt16(1).UInt16(1).UInt16(0).UInt16(0).Name(Name).UInt16(33).UInt16(1);
        builder.Bytes(0xC0, 0x0C).UInt16(33).UInt16(1).UInt32(60).UInt16(6 + 5 + 1);
        builder.UInt16(0).UInt16(0).UInt16(1).Bytes(4, (byte)'a', (byte)'.', 0x07, (byte)'\\', 0);

        SrvRecord record = Assert.Single(DnsMessageReader.Parse(builder.ToArray(), Name).Records);

        Assert.Equal(@"a\.\007\\", record.Target);
    }

    [Fact]
    public void Every_truncation_of_a_valid_response_is_ignored_or_a_dns_error()
    {
        byte[] response = ValidResponse();
        for (int length = 0; length < response.Length; length++)
        {
            ReadOnlySpan<byte> cut = response.AsSpan(0, length);
            if (!DnsMessageReader.IsResponseTo(cut, Id, Name))
            {
                continue;
            }

            byte[] copy = cut.ToArray();
            XmppConnectionException error = Assert.Throws<XmppConnectionException>(() => DnsMessageReader.Parse(copy, Name));
            Assert.Equal(XmppErrorKind.Dns, error.Kind);
        }
    }

    [Fact]
    public void Random_answer_sections_parse_or_give_a_dns_error_but_never_anything_else()
    {
        byte[] header = DnsMessageBuilder.Response(Id, NoErrorFlags, Name, 33, []);
        var random = new Random(1035);
        int errors = 0;
        for (int i = 0; i < 5000; i++)
        {
            byte[] garbage = new byte[random.Next(0, 200)];
            random.NextBytes(garbage);
            byte[] message = DnsMessageBuilder.EchoQuestion(header, (ushort)random.Next(0, 8), garbage);
            try
            {
                _ = DnsMessageReader.Parse(message, Name);
            }
            catch (XmppConnectionException ex) when (ex.Kind == XmppErrorKind.Dns)
            {
                errors++;
            }
        }

        Assert.True(errors > 0);
    }
}
