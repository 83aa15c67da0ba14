using XmppTransfer.Core.Transport.Dns;

namespace XmppTransfer.Core.Tests.Transport.Dns;

public sealed class XmppEndpointResolverTests
{
    private const string Domain = "example.com";
    private const string DirectTls = "_xmpps-client._tcp.example.com";
    private const string StartTls = "_xmpp-client._tcp.example.com";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // An answer later than the timeout is not an error here but the fallback, a wrong result: 5 s, not the 2 s default,
    // so a fake server answering on a loaded machine is never taken for a silent one.
    private static XmppEndpointResolver ResolverFor(FakeDnsServer server, TimeSpan? timeout = null) =>
        new(
            new DnsClient(new DnsClientOptions { Servers = [server.EndPoint], Timeout = timeout ?? TimeSpan.FromSeconds(5), Attempts = 1 }),
            new Random(6120));

    private static async Task<IReadOnlyList<XmppEndpoint>> ResolveAsync(FakeDnsServer server, string domain = Domain) =>
        await ResolverFor(server).ResolveAsync(domain, Token).WaitAsync(s_cap, Token);

    [Fact]
    public async Task Both_services_are_asked_and_merged_by_priority_with_direct_tls_first_on_a_tie()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(10, 0, 5223, "tls.example.com")))
            .Set(StartTls, FakeDnsEntry.Of(
                FakeDnsRecord.Srv(20, 0, 5222, "backup.example.com"),
                FakeDnsRecord.Srv(10, 0, 5222, "c2s.example.com"),
                FakeDnsRecord.Srv(5, 0, 5222, "primary.example.com")));

        IReadOnlyList<XmppEndpoint> endpoints = await ResolveAsync(server);

        Assert.Equal(
            [new XmppEndpoint("primary.example.com", 5222, false), new XmppEndpoint("tls.example.com", 5223, true),
             new XmppEndpoint("c2s.example.com", 5222, false), new XmppEndpoint("backup.example.com", 5222, false)],
            endpoints);
        string[] asked = [(await server.NextQueryAsync()).Name, (await server.NextQueryAsync()).Name];
        Assert.Equal(new[] { DirectTls, StartTls }.Order(StringComparer.Ordinal), asked.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Without_any_srv_record_the_domain_on_5222_is_the_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();

        IReadOnlyList<XmppEndpoint> endpoints = await ResolveAsync(server, "Example.COM.");

        Assert.Equal([new XmppEndpoint(Domain, 5222, false)], endpoints);
    }

    [Fact]
    public async Task A_silent_dns_server_still_gives_the_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();
        server.Silent = true;

        IReadOnlyList<XmppEndpoint> endpoints =
            await ResolverFor(server, TimeSpan.FromMilliseconds(200)).ResolveAsync(Domain, Token).WaitAsync(s_cap, Token);

        Assert.Equal([new XmppEndpoint(Domain, 5222, false)], endpoints);
    }

    [Fact]
    public async Task Servfail_on_both_services_still_gives_the_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, new FakeDnsEntry { ResponseCode = 2 })
            .Set(StartTls, new FakeDnsEntry { ResponseCode = 2 });

        Assert.Equal([new XmppEndpoint(Domain, 5222, false)], await ResolveAsync(server));
    }

    [Fact]
    public async Task A_failed_direct_tls_lookup_does_not_hide_the_starttls_records()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, new FakeDnsEntry { Raw = query => DnsMessageBuilder.EchoQuestion(query, 1, [0xFF]) })
            .Set(StartTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "c2s.example.com")));

        Assert.Equal([new XmppEndpoint("c2s.example.com", 5222, false)], await ResolveAsync(server));
    }

    [Fact]
    public async Task A_lone_dot_for_xmpp_client_means_no_service_and_no_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(StartTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 0, ".")));

        Assert.Empty(await ResolveAsync(server));
    }

    [Fact]
    public async Task A_lone_dot_for_xmpp_client_still_leaves_direct_tls_records()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 443, "tls.example.com")))
            .Set(StartTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 0, ".")));

        Assert.Equal([new XmppEndpoint("tls.example.com", 443, true)], await ResolveAsync(server));
    }

    [Fact]
    public async Task A_dot_for_direct_tls_only_drops_direct_tls_and_keeps_the_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 0, ".")));

        Assert.Equal([new XmppEndpoint(Domain, 5222, false)], await ResolveAsync(server));
    }

    [Fact]
    public async Task Dot_targets_among_real_ones_are_dropped_and_duplicates_removed()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set(DirectTls, FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "c2s.example.com")))
            .Set(StartTls, FakeDnsEntry.Of(
                FakeDnsRecord.Srv(0, 0, 0, "."),
                FakeDnsRecord.Srv(0, 0, 5222, "c2s.example.com"),
                FakeDnsRecord.Srv(1, 0, 5222, "C2S.Example.com"),
                FakeDnsRecord.Srv(2, 0, 5222, "other.example.com")));

        Assert.Equal(
            [new XmppEndpoint("c2s.example.com", 5222, true), new XmppEndpoint("c2s.example.com", 5222, false),
             new XmppEndpoint("other.example.com", 5222, false)],
            await ResolveAsync(server));
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("[2001:db8::7]", "2001:db8::7")]
    [InlineData("2001:db8::7", "2001:db8::7")]
    public async Task An_ip_literal_domain_is_its_own_endpoint_without_dns(string domain, string host)
    {
        await using FakeDnsServer server = FakeDnsServer.Start();

        IReadOnlyList<XmppEndpoint> endpoints = await ResolveAsync(server, domain);

        Assert.Equal([new XmppEndpoint(host, 5222, false)], endpoints);
        Assert.Empty(server.DrainQueries());
    }

    [Fact]
    public async Task An_internationalized_domain_is_asked_in_a_label_form()
    {
        await using FakeDnsServer server = FakeDnsServer.Start()
            .Set("_xmpp-client._tcp.xn--bcher-kva.example", FakeDnsEntry.Of(FakeDnsRecord.Srv(0, 0, 5222, "xmpp.xn--bcher-kva.example")));

        IReadOnlyList<XmppEndpoint> endpoints = await ResolveAsync(server, "bücher.example");

        Assert.Equal([new XmppEndpoint("xmpp.xn--bcher-kva.example", 5222, false)], endpoints);
    }

    [Fact]
    public async Task An_invalid_domain_is_misuse()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();

        await Assert.ThrowsAsync<ArgumentException>(() => ResolveAsync(server, "a..b"));
    }

    [Fact]
    public async Task Both_lookups_run_at_once_and_cancelling_the_caller_token_is_not_turned_into_the_fallback()
    {
        await using FakeDnsServer server = FakeDnsServer.Start();
        server.Silent = true;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        Task<IReadOnlyList<XmppEndpoint>> resolving = ResolverFor(server, TimeSpan.FromSeconds(30)).ResolveAsync(Domain, cts.Token);
        string[] outstanding = [(await server.NextQueryAsync()).Name, (await server.NextQueryAsync()).Name];
        Assert.Equal(new[] { DirectTls, StartTls }.Order(StringComparer.Ordinal), outstanding.Order(StringComparer.Ordinal));

        await cts.CancelAsync();

        OperationCanceledException error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolving.WaitAsync(s_cap, Token));
        Assert.Equal(cts.Token, error.CancellationToken);
    }
}
