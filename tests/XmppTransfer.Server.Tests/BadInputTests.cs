using System.Diagnostics;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Server.Tests;

public sealed class BadInputTests
{
    [Fact]
    public async Task Malformed_xml_gets_not_well_formed_and_the_server_keeps_serving_others()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var raw = await harness.RawConnectAsync();

        // A name a login uses (an unknown one is refused before authentication on that ground alone: policy-violation), and
        // an end tag as long as the start tag (the parser waits for that many characters before it compares them).
        await raw.SendAsync(Encoding.UTF8.GetBytes(ServerHarness.Header() + "<message></massage>"));
        var answer = await ServerHarness.ReadToEndAsync(raw, ServerHarness.Cap);

        Assert.Contains("<not-well-formed xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"", answer, StringComparison.Ordinal);
        Assert.EndsWith("</stream:stream>", answer, StringComparison.Ordinal);
        var alice = await harness.ConnectAsync("alice");
        Assert.True(alice.IsConnected);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_stream_header_is_cut_with_connection_timeout()
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { HeaderTimeout = TimeSpan.FromSeconds(1) });
        using var raw = await harness.RawConnectAsync();
        var started = Stopwatch.StartNew();

        await raw.SendAsync(Encoding.UTF8.GetBytes("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"));
        var answer = await ServerHarness.ReadToEndAsync(raw, ServerHarness.Cap);

        Assert.Contains("<connection-timeout", answer, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_header_for_another_domain_gets_host_unknown()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var raw = await harness.RawConnectAsync();

        await raw.SendAsync(Encoding.UTF8.GetBytes(ServerHarness.Header("elsewhere.test")));
        var answer = await ServerHarness.ReadToEndAsync(raw, ServerHarness.Cap);

        Assert.Contains("<stream:stream", answer, StringComparison.Ordinal);
        Assert.Contains("<host-unknown", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authenticating_before_starttls_is_a_policy_violation()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var raw = await harness.RawConnectAsync();

        await raw.SendAsync(Encoding.UTF8.GetBytes(ServerHarness.Header() + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg=</auth>"));
        var answer = await ServerHarness.ReadToEndAsync(raw, ServerHarness.Cap);

        Assert.Contains("<required/>", answer, StringComparison.Ordinal);
        Assert.Contains("<policy-violation", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("<success", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stanza_over_the_size_limit_gets_policy_violation()
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { MaxStanzaBytes = 64 * 1024 });
        var alice = await harness.ConnectAsync("alice");
        var bob = await harness.ConnectAsync("bob");

        await alice.SendAsync(new XElement(Stanza.Message, new XAttribute("to", "bob@example.test"), new XElement(XName.Get("body", Namespaces.Client), new string('x', 100_000))));

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => alice.Completion.WaitAsync(ServerHarness.Cap));
        Assert.Equal("policy-violation", ex.Condition);
        Assert.True(bob.IsConnected);
    }

    [Fact]
    public async Task A_wrong_password_storm_is_throttled_and_locked_out_while_other_accounts_log_in_normally()
    {
        // The failure delays run on the server's clock: each failed login arms one, the test checks its length and moves
        // the clock past it. (The server's sweep timer stays armed too: 5 s, longer than all the delays together.)
        var clock = new ManualTimeProvider(manualTimers: true);
        var options = ServerHarness.BaseOptions with
        {
            AuthFailureDelay = TimeSpan.FromMilliseconds(50),
            MaxAuthFailureDelay = TimeSpan.FromMilliseconds(800),
            AccountLockoutThreshold = 5,
            TimeProvider = clock,
        };
        await using var harness = await ServerHarness.StartAsync(options);
        var wrong = harness.ClientOptions("alice", password: "guess");

        async Task<(XmppConnectionException Error, TimeSpan Delay)> FailAsync(XmppClientOptions? clientOptions)
        {
            var armed = clock.NextTimerArmedAsync();
            var connect = Assert.ThrowsAsync<XmppConnectionException>(() => harness.ConnectAsync("alice", options: clientOptions));
            var delay = await armed.WaitAsync(ServerHarness.Cap);
            Assert.False(connect.IsCompleted, "the failure is answered only after its delay");
            clock.Advance(delay);
            return (await connect.WaitAsync(ServerHarness.Cap), delay);
        }

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 7; i++)
        {
            var (ex, delay) = await FailAsync(wrong);
            delays.Add(delay);
            Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        }

        var (locked, lockedDelay) = await FailAsync(null);
        var bob = await harness.ConnectAsync("bob");

        // 50 ms doubling per failure up to the cap; the sixth and seventh are refused (locked out), still delayed.
        Assert.Equal<double>([50, 100, 200, 400, 800, 800, 800], delays.Select(d => d.TotalMilliseconds));
        Assert.Contains("temporary-auth-failure", locked.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMilliseconds(800), lockedDelay);
        Assert.True(bob.IsConnected);
        Assert.True(harness.Server.Metrics.AuthFailures >= 8);
    }

    [Fact]
    public async Task Wrong_passwords_from_one_address_lock_the_account_out_of_that_address_only_and_the_user_logs_in_from_another()
    {
        var options = ServerHarness.BaseOptions with
        {
            AuthFailureDelay = TimeSpan.FromMilliseconds(10),
            MaxAuthFailureDelay = TimeSpan.FromMilliseconds(40),
            AccountLockoutThreshold = 3,
        };
        await using var harness = await ServerHarness.StartAsync(options);
        await using var attacker = new SourceAddressForwarder(harness.Server.ClientEndPoint);
        XmppClientOptions ViaAttacker(string user, string password = ServerHarness.Password) =>
            harness.ClientOptions(user, password: password) with { Port = attacker.EndPoint.Port };

        for (var i = 0; i < 3; i++)
        {
            var wrong = await Assert.ThrowsAsync<XmppConnectionException>(() => harness.ConnectAsync("alice", options: ViaAttacker("alice", "guess")));
            Assert.Contains("not-authorized", wrong.Message, StringComparison.Ordinal);
        }

        var stillThrottled = await Assert.ThrowsAsync<XmppConnectionException>(() => harness.ConnectAsync("alice", options: ViaAttacker("alice")));
        var alice = await harness.ConnectAsync("alice");
        var bobFromThere = await harness.ConnectAsync("bob", options: ViaAttacker("bob"));

        Assert.Contains("temporary-auth-failure", stillThrottled.Message, StringComparison.Ordinal);
        Assert.True(alice.IsConnected);
        Assert.True(bobFromThere.IsConnected);
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_are_closed_at_once()
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { MaxConnectionsPerAddress = 2 });
        using var first = await harness.RawConnectAsync();
        using var second = await harness.RawConnectAsync();
        using var third = await harness.RawConnectAsync();

        var answer = await ServerHarness.ReadToEndAsync(third, ServerHarness.Cap);

        Assert.Equal(string.Empty, answer);
        Assert.Equal(1, harness.Server.Metrics.ConnectionsRefused);
    }

    [Fact]
    public async Task A_silent_session_is_pinged_and_stays_when_it_answers()
    {
        // Only the idle time is short. The answer may take as long as the machine needs: a second ping can only come once
        // the server has taken the answer to the first as traffic, and the session has stayed.
        var options = ServerHarness.BaseOptions with { IdleTimeout = TimeSpan.FromMilliseconds(500), PingTimeout = ServerHarness.Cap };
        await using var harness = await ServerHarness.StartAsync(options);
        var pings = 0;
        var pingedTwice = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Registered before connecting, so the first ping cannot arrive before the handler.
        var alice = await harness.ConnectAsync("alice", configure: c => c.RegisterIqHandler(XName.Get("ping", Namespaces.Ping), IqType.Get, (_, _) =>
        {
            if (Interlocked.Increment(ref pings) == 2)
            {
                pingedTwice.TrySetResult();
            }

            return ValueTask.FromResult<XElement?>(null);
        }));

        await pingedTwice.Task.WaitAsync(ServerHarness.Cap);
        Assert.True(alice.IsConnected);
    }
}
