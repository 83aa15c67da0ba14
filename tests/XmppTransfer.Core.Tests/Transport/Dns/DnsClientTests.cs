using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using XmppTransfer.Core.Transport.Dns;
using XmppTransfer.Testing;

namespace XmppTransfer.Core.Tests.Transport.Dns;

public sealed class DnsClientTests
{
    private const string Name = "_xmpp-client._tcp.example.com";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    // Long enough that a fake server answering on a loaded machine is never taken for a silent one; only tests of silence
    // use a short timeout, and only for the server that is silent.
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DnsClient ClientFor(TimeSpan timeout, int attempts, params IPEndPoint[] servers) =>
        new(new DnsClientOptions { Servers = servers, Timeout = timeout, Attempts = attempts });

    private static DnsClient ClientFor(params FakeDnsServer[] servers) =>
        ClientFor(s_answerTimeout, 1, [.. servers.Select(s => s.EndPoint)]);

    [Fact]
    public async Task Srv_answers_are_parsed_with_compressed_owner_and_target_names()
    {
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, FakeDnsEntry.Of(
            FakeDnsRecord.Srv(10, 60, 5222, "xmpp1.example.com"),
            FakeDnsRecord.Srv(10, 40, 5222, "xmpp2.example.com"),
            FakeDnsRecord.Srv(20, 0, 15222, "backup.example.net")));

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal(
            [new SrvRecord(10, 60, 5222, "xmpp1.example.com"), new SrvRecord(10, 40, 5222, "xmpp2.example.com"),
             new SrvRecord(20, 0, 15222, "backup.example.net")],
            records);
        FakeDnsQuery query = await server.NextQueryAsync();
        Assert.Equal(Name, query.Name);
        Assert.Equal(33, query.Type);
        Assert.Equal(0x0100, query.Flags); // RD only
        Assert.False(query.OverTcp);
    }

    [Fact]
    public async Task Uncompressed_answers_are_parsed_too()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(Name, FakeDnsEntry.Of(FakeDnsRecord.Srv(1, 2, 3, "xmpp.example.com")) with { Compress = false });

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name + ".", Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(1, 2, 3, "xmpp.example.com")], records);
    }

    [Fact]
    public async Task A_target_of_dot_is_returned_as_it_is()
    {
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 0, ".")));

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        SrvRecord record = Assert.Single(records);
        Assert.Equal(".", record.Target);
        Assert.True(record.IsNoService);
    }

    [Fact]
    public async Task Truncated_udp_answer_is_asked_again_over_tcp()
    {
        FakeDnsEntry entry = FakeDnsEntry.Of(FakeDnsRecord.Srv(5, 0, 5222, "big.example.com")) with { TruncateOverUdp = true };
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, entry);

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(5, 0, 5222, "big.example.com")], records);
        FakeDnsQuery overUdp = await server.NextQueryAsync();
        FakeDnsQuery overTcp = await server.NextQueryAsync();
        Assert.False(overUdp.OverTcp);
        Assert.True(overTcp.OverTcp);
        Assert.Equal(overUdp.Id, overTcp.Id);
        Assert.Equal(Name, overTcp.Name);
    }

    [Fact]
    public async Task Nxdomain_gives_an_empty_list()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Empty(records);
    }

    [Fact]
    public async Task An_answer_without_records_gives_an_empty_list()
    {
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, FakeDnsEntry.Of());

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Empty(records);
    }

    [Fact]
    public async Task Srv_records_behind_a_cname_are_found_and_unrelated_records_skipped()
    {
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, FakeDnsEntry.Of(
            FakeDnsRecord.Cname("_xmpp-client._tcp.hosting.example.net"),
            FakeDnsRecord.Srv(0, 5, 5222, "c2s.hosting.example.net", owner: "_xmpp-client._tcp.hosting.example.net"),
            FakeDnsRecord.Srv(0, 5, 5222, "intruder.example.org", owner: "_xmpp-client._tcp.elsewhere.example.org")));

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(0, 5, 5222, "c2s.hosting.example.net")], records);
    }

    [Fact]
    public async Task Datagrams_with_a_wrong_id_or_question_are_ignored_until_the_right_one_arrives()
    {
        FakeDnsEntry entry = FakeDnsEntry.Of(FakeDnsRecord.Srv(1, 1, 5222, "right.example.com")) with { DecoysFirst = true };
        await using FakeDnsServer server = FakeDnsServer.Start().Set(Name, entry);

        IReadOnlyList<SrvRecord> records = await ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(1, 1, 5222, "right.example.com")], records);
    }

    public static TheoryData<string> HostileAnswers => new()
    {
        "RDATA cut short",
        "second answer missing",
        "pointer to itself",
        "pointer loop through a label",
        "pointer forward",
        "label past the end",
        "SRV RDATA length mismatch",
        "SRV RDATA too short",
        "name longer than 255 octets",
        "reserved label type",
        "three garbage octets",
    };

    [Theory]
    [MemberData(nameof(HostileAnswers))]
    public async Task Malformed_answers_give_a_dns_error_and_never_crash(string hostileAnswer)
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(Name, new FakeDnsEntry { Raw = query => BuildHostileAnswer(query, hostileAnswer) });

        XmppConnectionException error = await Assert.ThrowsAsync<XmppConnectionException>(
            () => ClientFor(server).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token));

        Assert.Equal(XmppErrorKind.Dns, error.Kind);
        XmppConnectionException cause = Assert.IsType<XmppConnectionException>(error.InnerException);
        Assert.Equal(XmppErrorKind.Dns, cause.Kind);
        Assert.StartsWith("Malformed DNS response", cause.Message, StringComparison.Ordinal);
    }

    private static byte[] BuildHostileAnswer(byte[] query, string hostileAnswer)
    {
        // The answer section starts right after the echoed question, at query.Length.
        int answerAt = query.Length;
        byte[] pointerToQuestion = [0xC0, 0x0C];
        byte[] srvHeader = [0x00, 0x21, 0x00, 0x01, 0, 0, 1, 44];
        byte[] validAnswer = [.. pointerToQuestion, .. srvHeader, 0, 9, 0, 1, 0, 1, 0x14, 0x66, 1, (byte)'x', 0];
        byte[] longLabel = [63, .. Enumerable.Repeat((byte)'a', 63)];
        (ushort count, byte[] section) = hostileAnswer switch
        {
            "RDATA cut short" => ((ushort)1, [.. pointerToQuestion, .. srvHeader, 0, 20, 0, 1, 0, 1, 0x14]),
            "second answer missing" => ((ushort)2, validAnswer),
            "pointer to itself" => ((ushort)1, [0xC0, (byte)answerAt, .. srvHeader, 0, 0]),
            "pointer loop through a label" => ((ushort)1, [1, (byte)'a', 0xC0, (byte)answerAt, .. srvHeader, 0, 0]),
            "pointer forward" => ((ushort)1, [0xC0, (byte)(answerAt + 2), 1, (byte)'a', 0, .. srvHeader, 0, 0]),
            "label past the end" => ((ushort)1, [50, (byte)'a', (byte)'b']),
            "SRV RDATA length mismatch" => ((ushort)1, [.. pointerToQuestion, .. srvHeader, 0, 8, 0, 1, 0, 1, 0x14, 0x66, 1, (byte)'x', 0]),
            "SRV RDATA too short" => ((ushort)1, [.. pointerToQuestion, .. srvHeader, 0, 6, 0, 1, 0, 1, 0x14, 0x66]),
            "name longer than 255 octets" => ((ushort)1, [.. longLabel, .. longLabel, .. longLabel, .. longLabel, 0, .. srvHeader, 0, 0]),
            "reserved label type" => ((ushort)1, [0x40, 1, 0, .. srvHeader, 0, 0]),
            "three garbage octets" => ((ushort)1, [0x13, 0x37, 0x42]),
            _ => throw new ArgumentOutOfRangeException(nameof(hostileAnswer)),
        };
        Assert.True(answerAt < 0xFF, "the pointer cases assume the answer section starts below offset 255");
        return DnsMessageBuilder.EchoQuestion(query, count, section);
    }

    [Fact]
    public async Task A_silent_server_gives_a_timeout_error_within_the_configured_timeout_and_attempts()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();
        server.Silent = true;
        DnsClient client = ClientFor(TimeSpan.FromMilliseconds(250), 2, server.EndPoint);
        var stopwatch = Stopwatch.StartNew();

        XmppConnectionException error = await Assert.ThrowsAsync<XmppConnectionException>(
            () => client.QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token));

        stopwatch.Stop();
        Assert.Equal(XmppErrorKind.Timeout, error.Kind);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
        Assert.Equal(Name, (await server.NextQueryAsync()).Name);
        Assert.Equal(Name, (await server.NextQueryAsync()).Name);
        Assert.Empty(server.DrainQueries());
    }

    [Fact]
    public async Task The_second_server_is_used_when_the_first_is_silent()
    {
        await using FakeDnsServer silent = FakeDnsServer.Start();
        silent.Silent = true;
        await using FakeDnsServer answering = FakeDnsServer.Start()
            .Set(Name, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "xmpp.example.com")));
        // The timeout is what the silent server costs, and all the answering one has: two attempts of 2 s each.
        DnsClient client = ClientFor(TimeSpan.FromSeconds(2), 2, silent.EndPoint, answering.EndPoint);

        IReadOnlyList<SrvRecord> records = await client.QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(0, 0, 5222, "xmpp.example.com")], records);
        Assert.Equal(Name, (await silent.NextQueryAsync()).Name);
        Assert.Equal(Name, (await answering.NextQueryAsync()).Name);
    }

    [Fact]
    public async Task The_second_server_is_used_when_the_first_port_is_closed()
    {
        using var closed = new RefusingPort(ProtocolType.Udp);
        await using FakeDnsServer answering = FakeDnsServer.Start()
            .Set(Name, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "xmpp.example.com")));
        // A closed port answers at once (port unreachable), so the timeout only bounds the answering server.
        DnsClient client = ClientFor(s_answerTimeout, 1, closed.EndPoint, answering.EndPoint);

        IReadOnlyList<SrvRecord> records = await client.QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(0, 0, 5222, "xmpp.example.com")], records);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public async Task Servfail_or_refused_moves_on_to_the_next_server(int responseCode)
    {
        await using FakeDnsServer failing = FakeDnsServer.Start().Set(Name, new FakeDnsEntry { ResponseCode = responseCode });
        await using FakeDnsServer answering = FakeDnsServer.Start()
            .Set(Name, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "xmpp.example.com")));

        IReadOnlyList<SrvRecord> records = await ClientFor(failing, answering).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new SrvRecord(0, 0, 5222, "xmpp.example.com")], records);
    }

    [Fact]
    public async Task Servfail_from_every_server_is_a_dns_error()
    {
        await using FakeDnsServer first = FakeDnsServer.Start().Set(Name, new FakeDnsEntry { ResponseCode = 2 });
        await using FakeDnsServer second = FakeDnsServer.Start().Set(Name, new FakeDnsEntry { ResponseCode = 5 });

        XmppConnectionException error = await Assert.ThrowsAsync<XmppConnectionException>(
            () => ClientFor(first, second).QuerySrvAsync(Name, Token).WaitAsync(s_cap, Token));

        Assert.Equal(XmppErrorKind.Dns, error.Kind);
        Assert.Contains("REFUSED", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_the_caller_token_throws_operation_cancelled_with_that_token()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();
        server.Silent = true;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        Task<IReadOnlyList<SrvRecord>> query = ClientFor(TimeSpan.FromSeconds(30), 1, server.EndPoint).QuerySrvAsync(Name, cts.Token);
        _ = await server.NextQueryAsync();

        await cts.CancelAsync();

        OperationCanceledException error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query.WaitAsync(s_cap, Token));
        Assert.Equal(cts.Token, error.CancellationToken);
    }

    [Fact]
    public async Task An_already_cancelled_token_sends_nothing()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        OperationCanceledException error = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => ClientFor(server).QuerySrvAsync(Name, cts.Token).WaitAsync(s_cap, Token));

        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.Empty(server.DrainQueries());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a..b")]
    [InlineData("bücher.example")]
    [InlineData("with space.example")]
    public async Task Invalid_names_are_rejected_as_misuse(string name)
    {
        await using FakeDnsServer server = FakeDnsServer.Start();

        await Assert.ThrowsAsync<ArgumentException>(() => ClientFor(server).QuerySrvAsync(name, Token).WaitAsync(s_cap, Token));
    }

    [Fact]
    public void A_label_longer_than_63_octets_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => DnsQueryWriter.NormalizeName(new string('a', 64) + ".example"));
        Assert.Equal(new string('a', 63) + ".example", DnsQueryWriter.NormalizeName(new string('a', 63) + ".example."));
    }
}
