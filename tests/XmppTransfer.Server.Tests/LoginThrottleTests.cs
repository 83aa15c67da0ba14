namespace XmppTransfer.Server.Tests;

/// <summary>The failed-login throttle (docs/server.md, "Failed logins") seen through SASL on the wire.</summary>
public sealed class LoginThrottleTests
{
    private const int ConnectionEndedEvent = 5007;

    // Plain TCP for the hand-driven SCRAM exchanges; no delay, so the failures come back at once.
    private static readonly ServerOptions s_options = ServerHarness.BaseOptions with
    {
        RequireTls = false,
        AccountLockoutThreshold = 3,
        AuthFailureDelay = TimeSpan.Zero,
        MaxAuthFailureDelay = TimeSpan.Zero,
    };

    [Fact]
    public async Task Parallel_wrong_passwords_from_one_address_get_no_more_checks_than_the_account_threshold()
    {
        await using var harness = await ServerHarness.StartAsync(s_options);
        var attempts = new List<RawScramAttempt>();
        try
        {
            // Every attempt has named the account and holds server-first before any proof arrives: checking the lock-out
            // here and counting the failure after the proof would let all eight through.
            for (var i = 0; i < 8; i++)
            {
                attempts.Add(await RawScramAttempt.StartAsync(harness, "alice"));
            }

            var conditions = await Task.WhenAll(attempts.Select(a => a.SendWrongProofAsync())).WaitAsync(ServerHarness.Cap);

            Assert.Equal(3, conditions.Count(c => c == "not-authorized"));
            Assert.Equal(5, conditions.Count(c => c == "temporary-auth-failure"));
            Assert.Equal(8, harness.Server.Metrics.AuthFailures);
        }
        finally
        {
            foreach (var attempt in attempts)
            {
                await attempt.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Attempts_dropped_between_the_scram_round_trips_leave_no_reservation_behind()
    {
        var dropped = new LogEventWatcher(ConnectionEndedEvent, times: 3);
        await using var harness = await ServerHarness.StartAsync(s_options with { LoggerFactory = dropped });
        var held = new List<RawScramAttempt>();
        for (var i = 0; i < 3; i++)
        {
            held.Add(await RawScramAttempt.StartAsync(harness, "alice"));
        }

        // Three attempts at the proof fill the account's threshold from this address: a fourth is refused unchecked.
        await using var fourth = await RawScramAttempt.StartAsync(harness, "alice");
        var refused = await fourth.SendWrongProofAsync();
        foreach (var attempt in held)
        {
            await attempt.DisposeAsync();
        }

        await dropped.Seen.WaitAsync(ServerHarness.Cap);
        var alice = await harness.ConnectAsync("alice");

        Assert.Equal("temporary-auth-failure", refused);
        Assert.True(alice.IsConnected);
        Assert.Equal(1, harness.Server.Metrics.AuthSuccesses);
    }
}
