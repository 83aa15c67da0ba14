using XmppTransfer.Core.Transport.Dns;

namespace XmppTransfer.Core.Tests.Transport.Dns;

public sealed class SrvOrderingTests
{
    private static SrvRecord Record(ushort priority, ushort weight, string target) => new(priority, weight, 5222, target);

    [Fact]
    public void Lower_priorities_come_first()
    {
        SrvRecord[] records = [Record(20, 0, "b"), Record(10, 0, "a"), Record(30, 0, "c"), Record(10, 0, "a2")];

        IReadOnlyList<SrvRecord> ordered = SrvOrdering.Order(records, new Random(1));

        Assert.Equal(["a", "a2", "b", "c"], ordered.Select(r => r.Target));
    }

    [Fact]
    public void Weight_zero_records_head_the_candidate_list_and_win_a_draw_of_zero()
    {
        // Candidates: w0 (sum 0), a w10 (sum 10), c w5 (sum 15). Draws: 0 -> w0; then 11 of 0..15 -> c; then a.
        var random = new ScriptedRandom(0, 11, 4);

        IReadOnlyList<SrvRecord> ordered = SrvOrdering.Order([Record(1, 10, "a"), Record(1, 0, "w0"), Record(1, 5, "c")], random);

        Assert.Equal(["w0", "c", "a"], ordered.Select(r => r.Target));
        Assert.Equal([(0L, 16L), (0L, 16L), (0L, 11L)], random.Requests);
    }

    [Fact]
    public void The_draw_picks_the_first_record_whose_running_sum_reaches_it()
    {
        // Running sums 10, 15: a draw of 10 still picks a, 11 picks c.
        Assert.Equal("a", SrvOrdering.Order([Record(1, 10, "a"), Record(1, 5, "c")], new ScriptedRandom(10, 0))[0].Target);
        Assert.Equal("c", SrvOrdering.Order([Record(1, 10, "a"), Record(1, 5, "c")], new ScriptedRandom(11, 0))[0].Target);
    }

    [Fact]
    public void Weights_share_the_first_place_in_proportion_with_a_seeded_random()
    {
        var random = new Random(2782);
        SrvRecord[] records = [Record(0, 1, "light"), Record(0, 3, "heavy")];
        const int Runs = 20_000;

        int heavyFirst = Enumerable.Range(0, Runs).Count(_ => SrvOrdering.Order(records, random)[0].Target == "heavy");

        // Draws 0..4: 0 and 1 pick light, 2..4 pick heavy -> 3/5.
        Assert.InRange(heavyFirst / (double)Runs, 0.57, 0.63);
    }

    [Fact]
    public void A_weight_zero_record_is_rarely_first_among_weighted_ones()
    {
        var random = new Random(42);
        SrvRecord[] records = [Record(0, 10, "weighted"), Record(0, 0, "zero")];
        const int Runs = 22_000;

        int zeroFirst = Enumerable.Range(0, Runs).Count(_ => SrvOrdering.Order(records, random)[0].Target == "zero");

        // Only a draw of 0 out of 0..10 picks it: 1/11.
        Assert.InRange(zeroFirst / (double)Runs, 0.07, 0.115);
    }

    [Fact]
    public void Records_that_all_weigh_zero_keep_their_order()
    {
        SrvRecord[] records = [Record(0, 0, "x"), Record(0, 0, "y"), Record(0, 0, "z")];

        Assert.Equal(["x", "y", "z"], SrvOrdering.Order(records, new Random(7)).Select(r => r.Target));
    }

    [Fact]
    public void The_same_seed_gives_the_same_order_and_nothing_is_lost()
    {
        SrvRecord[] records = [.. Enumerable.Range(0, 12).Select(i => Record((ushort)(i % 3), (ushort)(i * 7), $"t{i}"))];

        IReadOnlyList<SrvRecord> first = SrvOrdering.Order(records, new Random(99));
        IReadOnlyList<SrvRecord> second = SrvOrdering.Order(records, new Random(99));

        Assert.Equal(first, second);
        Assert.Equal(records.OrderBy(r => r.Target), first.OrderBy(r => r.Target));
        Assert.Equal(first.Select(r => r.Priority).Order(), first.Select(r => r.Priority));
    }

    [Fact]
    public void No_records_give_an_empty_order() => Assert.Empty(SrvOrdering.Order([], new Random(0)));
}
