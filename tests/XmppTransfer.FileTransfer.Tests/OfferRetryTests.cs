using System.Collections.Concurrent;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// The sender offers again to a receiver that refused its offer as busy (an error of type wait, as our receiver's full queue
/// answers), after growing delays on the manager's clock, each time with a new sid; it gives up after the last delay with
/// the receiver's error, stops waiting when cancelled, and never retries a decline or another kind of error.
/// </summary>
public sealed class OfferRetryTests : IAsyncLifetime
{
    private const int ReceiverBusyEvent = 3010;
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private static readonly FileSendOptions s_ibb = new() { Method = TransferMethodPreference.Ibb };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-retry-").FullName;
    private readonly ManualTimeProvider _clock = new(manualTimers: true);
    private readonly RecordingLoggerFactory _aliceLog = new();

    /// <summary>Sids of the SI offers Alice's manager made (the test's own blocking offers are left out), in routing order.</summary>
    private readonly ConcurrentQueue<string> _offered = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _routed = new(StringComparer.Ordinal);
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _aliceFiles = null!;
    private FileTransferManager _bobFiles = null!;
    private int _nextBlock;

    /// <summary>Rewrites the error Bob answers an offer with, when set.</summary>
    private Action<XElement>? _rewriteError;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter { Intercept = Watch };

        // One waiting offer per sender: a single blocking offer makes Bob refuse Alice's next one as busy.
        _bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 1, Oob = OobOptions.Default with { AllowPrivateNetworks = true } });
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles));
        _aliceFiles = new FileTransferManager(new FileTransferOptions { TimeProvider = _clock });
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles), _router.ClientOptions("alice") with { LoggerFactory = _aliceLog });
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_send_refused_as_busy_is_offered_again_with_a_new_sid_and_succeeds_once_the_receiver_took_a_queued_offer()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 50_000);
        var reports = new ConcurrentQueue<FileTransferProgress>();
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb, new SyncProgress(reports.Enqueue), TestContext.Current.CancellationToken);

        await _clock.WhenTimerArmedAsync().WaitAsync(s_cap);
        Assert.Equal(TimeSpan.FromSeconds(2), _clock.NextTimerDue);
        Assert.Contains(reports, r => r.RetryAt is not null);
        Assert.Contains(_aliceLog.Events, e => e.Id.Id == ReceiverBusyEvent);

        // Bob's application takes the waiting offer (Alice's place is free again) and then the clock reaches the retry.
        var waiting = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        Assert.StartsWith("block", waiting.Sid, StringComparison.Ordinal);
        await waiting.DeclineAsync(cancellationToken: TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromSeconds(2));

        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        var offered = _offered.ToArray();
        Assert.Equal(2, offered.Length);
        Assert.NotEqual(offered[0], offered[1]);
        Assert.Equal(offered[1], offer.Sid);
        Assert.Equal(offered[1], sent.Sid);
        await AssertDeclinedAsync(blocker);
    }

    [Fact]
    public async Task An_out_of_band_offer_refused_as_busy_is_offered_again_with_a_new_sid_and_downloaded()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 50_000);
        var send = _aliceFiles.SendFileAsync(
            _bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Oob }, cancellationToken: TestContext.Current.CancellationToken);

        await _clock.WhenTimerArmedAsync().WaitAsync(s_cap);
        await DeclineWaitingAsync(blocker);
        _clock.Advance(TimeSpan.FromSeconds(2));

        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal(TransferMethod.Oob, sent.Method);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        var offered = _offered.ToArray();
        Assert.Equal(2, offered.Length);
        Assert.NotEqual(offered[0], offered[1]);
        Assert.Equal(offered[1], sent.Sid);
    }

    [Fact]
    public async Task A_send_gives_up_after_the_configured_retries_with_the_receivers_wait_error()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);
        TimeSpan[] delays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];
        var send = _aliceFiles.SendFileAsync(
            _bob.BoundJid, source, s_ibb with { OfferRetryDelays = delays }, cancellationToken: TestContext.Current.CancellationToken);

        // Nobody takes the waiting offer: every offer is refused, and each wait is the next configured delay.
        foreach (var delay in delays)
        {
            await _clock.WhenTimerArmedAsync().WaitAsync(s_cap);
            Assert.Equal(delay, _clock.NextTimerDue);
            _clock.Advance(delay);
        }

        var failed = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.TransferFailed, failed.ErrorKind);
        var refusal = Assert.IsType<XmppStanzaErrorException>(failed.InnerException);
        Assert.Equal("resource-constraint", refusal.Error.Condition);
        Assert.Equal(StanzaErrorType.Wait, refusal.Error.Type);
        Assert.Equal(3, _offered.Distinct().Count());
        Assert.Equal(2, _aliceLog.Events.Count(e => e.Id.Id == ReceiverBusyEvent));
        Assert.Equal(0, _clock.ArmedTimers);
        await DeclineWaitingAsync(blocker);
    }

    [Fact]
    public async Task Cancelling_a_send_while_it_waits_for_a_busy_receiver_ends_it_at_once()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);
        using var cancel = new CancellationTokenSource();
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb with { OfferRetryDelays = [TimeSpan.FromHours(1)] }, cancellationToken: cancel.Token);
        await _clock.WhenTimerArmedAsync().WaitAsync(s_cap);

        // The clock never moves: only the cancel can end the hour's wait.
        await cancel.CancelAsync();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Single(_offered);
        await DeclineWaitingAsync(blocker);
    }

    [Fact]
    public async Task Our_session_ending_while_the_send_waits_for_a_busy_receiver_fails_it_at_once_as_closed()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb with { OfferRetryDelays = [TimeSpan.FromHours(1)] }, cancellationToken: TestContext.Current.CancellationToken);
        await _clock.WhenTimerArmedAsync().WaitAsync(s_cap);

        // The clock never moves: only the session's end can cut the hour's wait short (no offer can be sent any more).
        await _router.DisconnectAsync(_alice.BoundJid).WaitAsync(s_cap);

        // As any offer on a closed stream: the session's own error, not a refusal of the receiver's.
        var failure = await Assert.ThrowsAsync<XmppConnectionException>(() => send.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Closed, failure.Kind);
        Assert.Single(_offered);

        // It names the last offer made (the refused one): no new one was made for a stream that could not carry it.
        Assert.Equal(_offered.Single(), FileTransferException.SidOf(failure));
        _ = blocker;
    }

    [Fact]
    public async Task Our_session_ending_while_an_offer_waits_for_its_answer_fails_the_send_as_closed_naming_that_offer()
    {
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb, cancellationToken: TestContext.Current.CancellationToken);

        // Bob's application holds the offer without answering it; then Alice's connection goes.
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        await _router.DisconnectAsync(_alice.BoundJid).WaitAsync(s_cap);

        var failure = await Assert.ThrowsAsync<XmppConnectionException>(() => send.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Closed, failure.Kind);
        Assert.Equal(offer.Sid, FileTransferException.SidOf(failure));
        Assert.Equal(offer.Sid, _offered.Single());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wait")]
    public async Task A_declined_offer_is_not_offered_again_even_if_the_decline_says_wait(string? type)
    {
        if (type is not null)
        {
            _rewriteError = error => error.SetAttributeValue("type", type);
        }

        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb, cancellationToken: TestContext.Current.CancellationToken);
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        await offer.DeclineAsync(cancellationToken: TestContext.Current.CancellationToken);

        var declined = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));
        Assert.Equal(FileTransferErrorKind.Declined, declined.ErrorKind);
        Assert.Equal("forbidden", Assert.IsType<XmppStanzaErrorException>(declined.InnerException).Error.Condition);
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Single(_offered);
        Assert.DoesNotContain(_aliceLog.Events, e => e.Id.Id == ReceiverBusyEvent);
    }

    [Theory]
    [InlineData("cancel")]
    [InlineData("modify")]
    [InlineData("auth")]
    public async Task A_refusal_of_another_type_than_wait_is_not_retried_whatever_its_condition(string type)
    {
        var blocker = await BlockAsync();
        _rewriteError = error => error.SetAttributeValue("type", type);
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);

        var failed = await Assert.ThrowsAsync<FileTransferException>(
            () => _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap));

        Assert.Equal("resource-constraint", Assert.IsType<XmppStanzaErrorException>(failed.InnerException).Error.Condition);
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Single(_offered);
        await DeclineWaitingAsync(blocker);
    }

    [Theory]
    [InlineData("recipient-unavailable")]
    [InlineData("remote-server-timeout")]
    [InlineData("service-unavailable")]
    public async Task A_wait_refusal_that_does_not_say_busy_is_not_retried(string condition)
    {
        var blocker = await BlockAsync();
        // Bob's busy refusal says another wait condition (the blocker's decline at the end stays a decline).
        _rewriteError = error =>
        {
            var defined = error.Element(XName.Get("resource-constraint", "urn:ietf:params:xml:ns:xmpp-stanzas"));
            defined?.Name = XName.Get(condition, defined.Name.NamespaceName);
        };
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);

        var failed = await Assert.ThrowsAsync<FileTransferException>(
            () => _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(s_cap));

        var error = Assert.IsType<XmppStanzaErrorException>(failed.InnerException).Error;
        Assert.Equal((condition, StanzaErrorType.Wait), (error.Condition, error.Type));
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Single(_offered);
        await DeclineWaitingAsync(blocker);
    }

    [Fact]
    public async Task With_no_retry_delays_a_busy_refusal_fails_the_send_at_once()
    {
        var blocker = await BlockAsync();
        var source = TransferTestKit.MakeFile(_root, "a.bin", 1000);

        var failed = await Assert.ThrowsAsync<FileTransferException>(
            () => _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb with { OfferRetryDelays = [] }, cancellationToken: TestContext.Current.CancellationToken)
                .WaitAsync(s_cap));

        Assert.Equal("resource-constraint", Assert.IsType<XmppStanzaErrorException>(failed.InnerException).Error.Condition);
        Assert.Equal(0, _clock.ArmedTimers);
        Assert.Single(_offered);
        await DeclineWaitingAsync(blocker);
    }

    [Fact]
    public async Task Retry_delays_must_be_positive_and_at_most_a_day_and_the_clock_must_be_set()
    {
        var source = TransferTestKit.MakeFile(_root, "a.bin", 10);
        foreach (var delay in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1), Timeout.InfiniteTimeSpan, TimeSpan.FromDays(2) })
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
                () => _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb with { OfferRetryDelays = [TimeSpan.FromSeconds(1), delay] }, cancellationToken: TestContext.Current.CancellationToken)
                    .WaitAsync(s_cap));
        }

        await Assert.ThrowsAsync<ArgumentNullException>(
            () => _aliceFiles.SendFileAsync(_bob.BoundJid, source, s_ibb with { OfferRetryDelays = null! }, cancellationToken: TestContext.Current.CancellationToken)
                .WaitAsync(s_cap));
        Assert.Throws<ArgumentNullException>(() => new FileTransferManager(new FileTransferOptions { TimeProvider = null! }));
        Assert.Empty(_offered);
    }

    /// <summary>
    /// Sends a bare offer from Alice's connection that takes her one place in Bob's queue, and returns once the router has
    /// passed it to Bob: whatever Alice sends after reaches Bob after it, over the same two connections, in order.
    /// </summary>
    private async Task<Task<XElement>> BlockAsync()
    {
        var sid = $"block{Interlocked.Increment(ref _nextBlock)}";
        var routed = _routed.GetOrAdd(sid, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var offer = new SiOffer(sid, new FileOfferDescription($"{sid}.bin", 10), [StreamMethods.Ibb]);
        var answer = _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, offer.ToXml()), TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);
        await routed.Task.WaitAsync(s_cap);
        return answer;
    }

    private XElement? Watch(XElement stanza)
    {
        var from = (string?)stanza.Attribute("from");
        if (Stanza.GetIqType(stanza) == IqType.Set && stanza.Element(SiOffer.SiName) is { } si && from == _alice.BoundJid.ToString())
        {
            var sid = (string?)si.Attribute("id") ?? "";
            if (sid.StartsWith("block", StringComparison.Ordinal))
            {
                _routed.GetOrAdd(sid, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            else
            {
                _offered.Enqueue(sid);
            }
        }

        if (Stanza.GetIqType(stanza) == IqType.Set && stanza.Element(OobQuery.Name) is { } query && from == _alice.BoundJid.ToString())
        {
            _offered.Enqueue((string?)query.Attribute("sid") ?? "");
        }

        if (_rewriteError is { } rewrite && Stanza.GetIqType(stanza) == IqType.Error && from == _bob.BoundJid.ToString()
            && stanza.Element(XName.Get("error", Namespaces.Client)) is { } error)
        {
            rewrite(error);
        }

        return stanza;
    }

    /// <summary>Bob's application takes the blocking offer from the queue and declines it; Alice hears the decline.</summary>
    private async Task DeclineWaitingAsync(Task<XElement> blocker)
    {
        var waiting = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        Assert.StartsWith("block", waiting.Sid, StringComparison.Ordinal);
        await waiting.DeclineAsync(cancellationToken: TestContext.Current.CancellationToken);
        await AssertDeclinedAsync(blocker);
    }

    private static async Task AssertDeclinedAsync(Task<XElement> offer)
    {
        var declined = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => offer.WaitAsync(s_cap));
        Assert.Equal("forbidden", declined.Error.Condition);
    }

    /// <summary>Progress delivered on the reporting thread (Progress&lt;T&gt; would post to the pool).</summary>
    private sealed class SyncProgress(Action<FileTransferProgress> report) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value) => report(value);
    }
}
