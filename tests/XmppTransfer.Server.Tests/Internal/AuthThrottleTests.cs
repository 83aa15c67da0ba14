using System.Net;
using XmppTransfer.Server.Internal;
using XmppTransfer.Testing;

namespace XmppTransfer.Server.Tests.Internal;

public sealed class AuthThrottleTests
{
    private static readonly IPAddress s_attacker = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress s_user = IPAddress.Parse("198.51.100.7");
    private static readonly IPAddress s_stranger = IPAddress.Parse("2001:db8:5::1");
    private static readonly ServerOptions s_options = ServerHarness.BaseOptions with { AccountLockoutThreshold = 3, AddressLockoutThreshold = 5 };

    [Fact]
    public void Failures_for_an_account_from_one_address_lock_out_only_that_address_for_that_account()
    {
        var throttle = new AuthThrottle(s_options);

        for (var i = 0; i < 3; i++)
        {
            Assert.False(throttle.IsLockedOut(s_attacker, "alice"));
            Fail(throttle, s_attacker, "alice");
        }

        Assert.True(throttle.IsLockedOut(s_attacker, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(s_attacker, "bob"));
        Assert.False(throttle.IsLockedOut(s_attacker, null));
    }

    [Fact]
    public void Failures_spread_over_many_addresses_lock_out_every_failing_address_but_not_one_without_failures()
    {
        var throttle = new AuthThrottle(s_options);
        var guessers = Enumerable.Range(1, 3).Select(i => IPAddress.Parse($"203.0.113.{i}")).ToList();

        Fail(throttle, guessers[0], "alice");
        Fail(throttle, guessers[1], "alice");
        Assert.False(throttle.IsLockedOut(guessers[0], "alice"));
        Fail(throttle, guessers[2], "alice");

        Assert.All(guessers, guesser => Assert.True(throttle.IsLockedOut(guesser, "alice")));
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(guessers[0], "bob"));
    }

    [Fact]
    public void An_address_over_its_own_threshold_is_locked_out_for_every_account()
    {
        var throttle = new AuthThrottle(s_options);

        foreach (var account in new[] { "a", "b", "c", "d", "e" })
        {
            Fail(throttle, s_attacker, account);
        }

        Assert.True(throttle.IsLockedOut(s_attacker, null));
        Assert.True(throttle.IsLockedOut(s_attacker, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "a"));
    }

    [Fact]
    public void An_ipv6_address_counts_with_the_rest_of_its_64_and_a_mapped_ipv4_address_with_itself()
    {
        var throttle = new AuthThrottle(s_options);

        Fail(throttle, IPAddress.Parse("2001:db8:1:2::1"), "alice");
        Fail(throttle, IPAddress.Parse("2001:db8:1:2::2"), "alice");
        Fail(throttle, IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"), "alice");

        // One failure per account, so only the address count (5) can lock out: it does only if the mapped form counts
        // with the plain one (3 + 2).
        foreach (var account in new[] { "b1", "b2", "b3" })
        {
            Fail(throttle, IPAddress.Parse("::ffff:192.0.2.1"), account);
        }

        Assert.False(throttle.IsLockedOut(s_attacker, null));
        Fail(throttle, s_attacker, "b4");
        Fail(throttle, s_attacker, "b5");

        Assert.True(throttle.IsLockedOut(IPAddress.Parse("2001:db8:1:2::99"), "alice"));
        Assert.False(throttle.IsLockedOut(IPAddress.Parse("2001:db8:1:3::1"), "alice"));
        Assert.True(throttle.IsLockedOut(s_attacker, null));
    }

    [Fact]
    public void A_success_forgives_the_earlier_failures_of_its_address_for_the_account()
    {
        var throttle = new AuthThrottle(s_options);
        Fail(throttle, s_user, "alice");
        Fail(throttle, s_user, "alice");

        Succeed(throttle, s_user, "alice");
        Fail(throttle, s_user, "alice");
        Fail(throttle, s_user, "alice");

        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Fail(throttle, s_user, "alice");
        Assert.True(throttle.IsLockedOut(s_user, "alice"));
    }

    [Fact]
    public void Failure_answers_are_delayed_by_the_largest_count_doubling_up_to_the_cap()
    {
        var throttle = new AuthThrottle(s_options with
        {
            AuthFailureDelay = TimeSpan.FromMilliseconds(100),
            MaxAuthFailureDelay = TimeSpan.FromMilliseconds(350),
            AddressLockoutThreshold = 100,
        });

        var delays = Enumerable.Range(1, 4).Select(i => Fail(throttle, IPAddress.Parse($"203.0.113.{i}"), "alice")).ToList();

        Assert.Equal([100, 200, 350, 350], delays.Select(d => (int)d.TotalMilliseconds));
    }

    [Fact]
    public void Attempts_in_flight_count_against_the_threshold_before_any_failure_is_recorded()
    {
        var throttle = new AuthThrottle(s_options);
        var held = Enumerable.Range(0, 3).Select(_ => throttle.TryBeginAttempt(s_attacker, "alice")).ToList();

        Assert.All(held, Assert.NotNull);
        Assert.Null(throttle.TryBeginAttempt(s_attacker, "alice"));
        Assert.True(throttle.IsLockedOut(s_attacker, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(s_attacker, "bob"));

        held[0]!.Fail();
        held[1]!.Dispose();
        var again = throttle.TryBeginAttempt(s_attacker, "alice");
        Assert.NotNull(again);
        Assert.Null(throttle.TryBeginAttempt(s_attacker, "alice"));
    }

    [Fact]
    public void A_completed_attempt_counts_once_and_cannot_be_completed_again()
    {
        var throttle = new AuthThrottle(s_options);
        var attempt = throttle.TryBeginAttempt(s_attacker, "alice")!;

        attempt.Fail();
        attempt.Dispose();
        attempt.Dispose();

        Assert.Throws<InvalidOperationException>(() => attempt.Fail());
        Assert.Throws<InvalidOperationException>(attempt.Succeed);
        Fail(throttle, s_attacker, "alice");
        Assert.False(throttle.IsLockedOut(s_attacker, "alice"));
        Fail(throttle, s_attacker, "alice");
        Assert.True(throttle.IsLockedOut(s_attacker, "alice"));
    }

    [Fact]
    public void Abandoned_attempts_give_their_place_back()
    {
        var throttle = new AuthThrottle(s_options);
        Fail(throttle, s_user, "alice");
        Fail(throttle, s_user, "alice");

        using (var abandoned = throttle.TryBeginAttempt(s_user, "alice"))
        {
            Assert.NotNull(abandoned);
            Assert.True(throttle.IsLockedOut(s_user, "alice"));
        }

        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Fail(throttle, s_user, "alice");
        Assert.True(throttle.IsLockedOut(s_user, "alice"));
    }

    [Fact]
    public void A_second_login_refused_during_an_attack_does_not_lock_the_user_out_once_the_first_succeeds()
    {
        var throttle = new AuthThrottle(s_options);
        foreach (var guesser in Enumerable.Range(1, 3).Select(i => IPAddress.Parse($"203.0.113.{i}")))
        {
            Fail(throttle, guesser, "alice");
        }

        var first = throttle.TryBeginAttempt(s_user, "alice");
        var second = throttle.TryBeginAttempt(s_user, "alice");
        Assert.NotNull(first);
        Assert.Null(second);
        throttle.RecordRefusal(s_user, "alice");
        first.Succeed();

        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.NotNull(throttle.TryBeginAttempt(s_user, "alice"));
    }

    [Fact]
    public void A_refusal_counts_for_its_address_and_is_delayed_by_the_largest_count()
    {
        var throttle = new AuthThrottle(s_options with
        {
            AuthFailureDelay = TimeSpan.FromMilliseconds(100),
            MaxAuthFailureDelay = TimeSpan.FromSeconds(10),
        });
        for (var i = 0; i < 3; i++)
        {
            Fail(throttle, s_attacker, "alice");
        }

        var delay = throttle.RecordRefusal(s_attacker, "alice");
        throttle.RecordRefusal(s_attacker, null);

        Assert.Equal(TimeSpan.FromMilliseconds(800), delay);
        Assert.True(throttle.IsLockedOut(s_attacker, null));
    }

    [Fact]
    public void The_table_stays_bounded_under_failures_for_many_accounts_from_many_addresses()
    {
        var clock = new ManualTimeProvider();
        var (throttle, table, _) = Bounded(ServerHarness.BaseOptions with { TimeProvider = clock });
        var largest = 0;

        // 300 addresses × 100 accounts within one window: 30,000 account-from-address counts, every account under attack.
        for (var address = 0; address < 300; address++)
        {
            var source = new IPAddress([10, 1, (byte)(address >> 8), (byte)address]);
            for (var account = 0; account < 100; account++)
            {
                var attempt = throttle.TryBeginAttempt(source, $"user{account}");
                if (attempt is null)
                {
                    throttle.RecordRefusal(source, $"user{account}");
                }
                else
                {
                    attempt.Fail();
                }

                largest = Math.Max(largest, table.EntryCount);
                clock.Advance(TimeSpan.FromMilliseconds(5));
            }
        }

        Assert.InRange(largest, AuthThrottle.DefaultMaxEntries * 9 / 10, AuthThrottle.DefaultMaxEntries);
        Assert.True(throttle.IsLockedOut(new IPAddress([10, 1, 0, 1]), "user0"));
    }

    [Fact]
    public void A_full_table_forgets_failures_under_other_names_before_the_record_of_an_account_under_attack()
    {
        var clock = new ManualTimeProvider();
        var (throttle, table, _) = Bounded(s_options with { AddressLockoutThreshold = 1000, TimeProvider = clock }, maxEntries: 100);
        var guessers = AttackFromThreeAddresses(throttle, "alice", clock);

        // Junk: each failure under a new name from a new address, all newer than alice's.
        for (var i = 0; i < 1000; i++)
        {
            Fail(throttle, new IPAddress([10, 2, (byte)(i >> 8), (byte)i]), $"junk{i}");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.InRange(table.EntryCount, 0, 100);
        }

        Assert.All(guessers, guesser => Assert.True(throttle.IsLockedOut(guesser, "alice")));
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
    }

    [Fact]
    public void An_account_whose_record_of_failed_addresses_is_pushed_out_is_refused_everywhere_until_the_window_passes()
    {
        var clock = new ManualTimeProvider();
        var (throttle, table, _) = Bounded(s_options with { AddressLockoutThreshold = 1000, TimeProvider = clock }, maxEntries: 100);
        var guessers = AttackFromThreeAddresses(throttle, "alice", clock);

        // Entries that refuse something themselves: 40 more accounts under attack (160 entries), each from the same three
        // addresses. With new addresses for each they would stay junk: an account's first failures refuse nothing and go
        // first, and one under attack needs room for its three pairs and its total between two cuts.
        for (var i = 0; i < 120; i++)
        {
            Fail(throttle, new IPAddress([10, 3, 0, (byte)(i % 3)]), $"junk{i / 3}");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.InRange(table.EntryCount, 0, 100);
        }

        Assert.All(guessers, guesser => Assert.True(throttle.IsLockedOut(guesser, "alice")));
        Assert.True(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "bob"));

        clock.Advance(s_options.AuthFailureWindow);
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.All(guessers, guesser => Assert.False(throttle.IsLockedOut(guesser, "alice")));
    }

    [Fact]
    public void An_account_sealed_by_a_full_table_still_admits_its_known_good_address_but_not_a_strangers()
    {
        var clock = new ManualTimeProvider();
        var (throttle, _, _) = Bounded(s_options with { AddressLockoutThreshold = 1000, TimeProvider = clock }, maxEntries: 100);
        Succeed(throttle, s_user, "alice");
        var guessers = AttackFromThreeAddresses(throttle, "alice", clock);

        // As above: entries that refuse something push out alice's record of failed addresses, and alice is sealed.
        for (var i = 0; i < 120; i++)
        {
            Fail(throttle, new IPAddress([10, 3, 0, (byte)(i % 3)]), $"junk{i / 3}");
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.All(guessers, guesser => Assert.True(throttle.IsLockedOut(guesser, "alice")));
        Assert.True(throttle.IsLockedOut(s_stranger, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Succeed(throttle, s_user, "alice");
    }

    [Fact]
    public void A_known_good_address_may_fail_during_an_attack_until_its_own_threshold()
    {
        var throttle = new AuthThrottle(s_options);
        Succeed(throttle, s_user, "alice");
        var guessers = AttackFromThreeAddresses(throttle, "alice", clock: null);

        Fail(throttle, s_user, "alice");
        Fail(throttle, s_user, "alice");
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Fail(throttle, s_user, "alice");

        Assert.True(throttle.IsLockedOut(s_user, "alice"));
        Assert.All(guessers, guesser => Assert.True(throttle.IsLockedOut(guesser, "alice")));
        Assert.False(throttle.IsLockedOut(s_stranger, "alice"));
    }

    [Fact]
    public void A_known_good_address_whose_record_is_pushed_out_at_its_threshold_stays_refused_for_its_window()
    {
        var clock = new ManualTimeProvider();
        var (throttle, _, _) = Bounded(s_options with { AddressLockoutThreshold = 1000, TimeProvider = clock }, maxEntries: 100);
        Succeed(throttle, s_user, "alice");
        for (var i = 0; i < 3; i++)
        {
            Fail(throttle, s_user, "alice");
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        for (var i = 0; i < 120; i++)
        {
            Fail(throttle, new IPAddress([10, 3, 0, (byte)(i % 3)]), $"junk{i / 3}");
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        // Sealed: so the only record of alice's failed addresses, s_user's, was pushed out.
        Assert.True(throttle.IsLockedOut(s_stranger, "alice"));
        Assert.True(throttle.IsLockedOut(s_user, "alice"));

        clock.Advance(s_options.AuthFailureWindow);
        Assert.False(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(s_stranger, "alice"));
    }

    [Fact]
    public void Known_good_addresses_are_kept_for_the_last_four_addresses_and_the_most_recent_accounts()
    {
        var (throttle, _, knownGood) = Bounded(s_options, maxKnownGoodAccounts: 3);
        var homes = Enumerable.Range(1, 5).Select(i => IPAddress.Parse($"198.51.100.{i}")).ToList();
        foreach (var home in homes)
        {
            Succeed(throttle, home, "alice");
        }

        Succeed(throttle, homes[0], "bob");
        Succeed(throttle, homes[0], "carol");
        AttackFromThreeAddresses(throttle, "alice", clock: null);
        AttackFromThreeAddresses(throttle, "bob", clock: null);
        foreach (var home in homes)
        {
            Fail(throttle, home, "alice");
        }

        Fail(throttle, homes[0], "bob");

        // The first of alice's five addresses was replaced by the fifth; bob is still among the three accounts.
        Assert.True(throttle.IsLockedOut(homes[0], "alice"));
        Assert.All(homes.Skip(1), home => Assert.False(throttle.IsLockedOut(home, "alice")));
        Assert.False(throttle.IsLockedOut(homes[0], "bob"));

        Succeed(throttle, homes[1], "dave");

        // Alice logged in least recently of alice, bob and carol: her addresses are no longer known-good.
        Assert.Equal(3, knownGood.AccountCount);
        Assert.All(homes, home => Assert.True(throttle.IsLockedOut(home, "alice")));
        Assert.False(throttle.IsLockedOut(homes[0], "bob"));
    }

    [Fact]
    public void A_known_good_address_expires_after_its_retention()
    {
        var clock = new ManualTimeProvider();
        var (throttle, _, knownGood) = Bounded(s_options with { TimeProvider = clock });
        Succeed(throttle, s_user, "alice");
        Succeed(throttle, s_user, "bob");
        clock.Advance(AuthThrottle.KnownGoodRetention - TimeSpan.FromMinutes(1));
        Succeed(throttle, s_user, "bob");
        AttackFromThreeAddresses(throttle, "alice", clock);
        AttackFromThreeAddresses(throttle, "bob", clock);
        Fail(throttle, s_user, "alice");
        Fail(throttle, s_user, "bob");
        Assert.False(throttle.IsLockedOut(s_user, "alice"));

        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.True(throttle.IsLockedOut(s_user, "alice"));
        Assert.False(throttle.IsLockedOut(s_user, "bob"));
        Succeed(throttle, s_stranger, "carol");
        Assert.Equal(2, knownGood.AccountCount);
    }

    /// <summary>
    /// A throttle over a failure table and known-good addresses of the given bounds (the server's by default), returned too:
    /// their sizes are the memory bounds, which no login's outcome shows.
    /// </summary>
    private static (AuthThrottle Throttle, AuthFailureTable Table, KnownGoodAddresses KnownGood) Bounded(
        ServerOptions options, int maxEntries = AuthThrottle.DefaultMaxEntries, int maxKnownGoodAccounts = AuthThrottle.DefaultMaxKnownGoodAccounts)
    {
        var knownGood = new KnownGoodAddresses(maxKnownGoodAccounts, options.TimeProvider);
        var table = new AuthFailureTable(options, maxEntries, knownGood);
        return (new AuthThrottle(options, table), table, knownGood);
    }

    private static List<IPAddress> AttackFromThreeAddresses(AuthThrottle throttle, string account, ManualTimeProvider? clock)
    {
        var guessers = Enumerable.Range(1, 3).Select(i => IPAddress.Parse($"203.0.113.{i}")).ToList();
        foreach (var guesser in guessers)
        {
            Fail(throttle, guesser, account);
            clock?.Advance(TimeSpan.FromMilliseconds(1));
        }

        return guessers;
    }

    private static TimeSpan Fail(AuthThrottle throttle, IPAddress address, string account)
    {
        var attempt = throttle.TryBeginAttempt(address, account);
        Assert.NotNull(attempt);
        return attempt.Fail();
    }

    private static void Succeed(AuthThrottle throttle, IPAddress address, string account)
    {
        var attempt = throttle.TryBeginAttempt(address, account);
        Assert.NotNull(attempt);
        attempt.Succeed();
    }
}
