using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// Which receive of a file an in-band re-offer goes to when the same file is received twice at once (docs/architecture.md):
/// never one whose bytes flow, first one whose SOCKS5 failed, and, while it is unclear, held briefly for a receive about to
/// fail. Every hold is stepped with a manual clock; nothing here waits.
/// </summary>
public sealed class FallbackWaitersTests
{
    private const string Key = "alice@example.test\nsame.bin\n10\n\n";
    private static readonly TimeSpan s_hold = TimeSpan.FromSeconds(5);
    private static readonly Jid s_sender = Jid.Parse("alice@example.test/laptop");

    private readonly ManualTimeProvider _time = new(manualTimers: true);
    private readonly List<(IncomingFileOffer Offer, bool Cancelled)> _released = [];
    private readonly FallbackWaiters _waiters;

    public FallbackWaitersTests()
    {
        _waiters = new FallbackWaiters(_time, s_hold, (offer, cancelled) => _released.Add((offer, cancelled)));
    }

    [Fact]
    public void A_re_offer_that_comes_before_its_receive_saw_its_socks5_fail_goes_to_that_receive_not_to_one_whose_bytes_flow()
    {
        var flowing = Arm();
        flowing.MarkFlowing();
        var failing = Arm();
        var reoffer = Reoffer();

        Assert.True(_waiters.TryHandOver(Key, reoffer));
        Assert.False(flowing.Offered.IsCompleted);
        Assert.Equal(1, _waiters.HeldCount);

        _waiters.Listen(failing);

        Assert.True(failing.Offered.IsCompleted);
        Assert.Same(reoffer, failing.Take());
        Assert.False(flowing.Offered.IsCompleted);
        Assert.Equal(0, _waiters.HeldCount);
        Assert.Equal(0, _time.ArmedTimers);
    }

    [Fact]
    public void A_re_offer_does_not_make_a_receive_still_negotiating_give_up_when_another_receive_of_the_file_is_about_to_fail()
    {
        var healthy = Arm();
        var failing = Arm();
        var reoffer = Reoffer();

        Assert.True(_waiters.TryHandOver(Key, reoffer));

        // The healthy receive's SOCKS5 wait is cut short only by a re-offer handed to it from its own sender.
        Assert.Null(healthy.HandedOverFrom);
        _waiters.Listen(failing);
        Assert.Same(reoffer, failing.Take());
        Assert.Null(healthy.HandedOverFrom);
    }

    [Fact]
    public void A_receive_whose_socks5_failed_already_takes_a_re_offer_at_once()
    {
        var flowing = Arm();
        flowing.MarkFlowing();
        var failed = Arm();
        _waiters.Listen(failed);

        Assert.True(_waiters.TryHandOver(Key, Reoffer()));

        Assert.True(failed.Offered.IsCompleted);
        Assert.Equal(0, _waiters.HeldCount);
    }

    [Fact]
    public void The_only_receive_of_a_file_still_waiting_for_its_bytestream_takes_a_re_offer_at_once()
    {
        var only = Arm();
        var reoffer = Reoffer();

        Assert.True(_waiters.TryHandOver(Key, reoffer));

        Assert.Equal(s_sender, only.HandedOverFrom);
        Assert.Equal(0, _waiters.HeldCount);
    }

    [Fact]
    public void A_re_offer_held_for_a_receive_whose_bytes_flow_is_admitted_as_new_when_its_hold_runs_out()
    {
        var flowing = Arm();
        flowing.MarkFlowing();
        var reoffer = Reoffer();

        Assert.True(_waiters.TryHandOver(Key, reoffer));
        Assert.Empty(_released);

        _time.Advance(s_hold);

        Assert.Equal((reoffer, false), Assert.Single(_released));
        Assert.False(flowing.Offered.IsCompleted);
        Assert.Equal(0, _waiters.HeldCount);
    }

    [Fact]
    public void A_re_offer_whose_hold_runs_out_goes_to_a_receive_of_its_sender_still_without_a_bytestream()
    {
        var flowing = Arm();
        flowing.MarkFlowing();
        var negotiating = Arm();
        var reoffer = Reoffer();
        Assert.True(_waiters.TryHandOver(Key, reoffer));

        _time.Advance(s_hold);

        Assert.Empty(_released);
        Assert.Same(reoffer, negotiating.Take());
        Assert.False(flowing.Offered.IsCompleted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_held_re_offer_is_released_at_once_when_the_last_receive_of_its_file_ends_declined_if_the_user_cancelled_it(bool cancelled)
    {
        var flowing = Arm();
        flowing.MarkFlowing();
        var reoffer = Reoffer();
        Assert.True(_waiters.TryHandOver(Key, reoffer));

        _waiters.Remove(flowing, cancelled);

        Assert.Equal((reoffer, cancelled), Assert.Single(_released));
        Assert.Equal(0, _waiters.HeldCount);
    }

    [Fact]
    public void A_re_offer_of_a_file_nobody_receives_is_left_to_be_admitted()
    {
        Assert.False(_waiters.TryHandOver(Key, Reoffer()));
        Assert.Equal(0, _waiters.HeldCount);
    }

    [Fact]
    public void The_only_receive_still_negotiating_does_not_take_another_resources_re_offer_at_once_but_it_is_held()
    {
        var only = Arm();

        Assert.True(_waiters.TryHandOver(Key, Reoffer(Jid.Parse("alice@example.test/phone"))));

        // Handed over, it would sit unanswered with a healthy SOCKS5 attempt for as long as that runs.
        Assert.False(only.Offered.IsCompleted);
        Assert.Equal(1, _waiters.HeldCount);
    }

    [Fact]
    public void A_receive_that_ends_releases_only_the_held_re_offers_of_its_own_file()
    {
        const string OtherKey = "alice@example.test\nother.bin\n10\n\n";
        var flowing = Arm();
        flowing.MarkFlowing();
        var otherFlowing = new FallbackWaiter(OtherKey, s_sender);
        _waiters.Add(otherFlowing);
        otherFlowing.MarkFlowing();
        Assert.True(_waiters.TryHandOver(OtherKey, Reoffer()));

        // The other file's receive was just handed an offer it has not withdrawn yet: for that moment none of its
        // receives can take one.
        Assert.True(otherFlowing.TryHandOver(Reoffer()));
        var ending = Arm();

        _waiters.Remove(ending, cancelled: true);

        // The other file's held re-offer is not this receive's to decline as cancelled.
        Assert.Empty(_released);
        Assert.Equal(1, _waiters.HeldCount);
        Assert.False(flowing.Offered.IsCompleted);
    }

    private FallbackWaiter Arm()
    {
        var waiter = new FallbackWaiter(Key, s_sender);
        _waiters.Add(waiter);
        return waiter;
    }

    private static IncomingFileOffer Reoffer(Jid? from = null) =>
        new(new FileTransferManager(), from ?? s_sender, new SiOffer("reoffer", new FileOfferDescription("same.bin", 10), [StreamMethods.Ibb]));
}
