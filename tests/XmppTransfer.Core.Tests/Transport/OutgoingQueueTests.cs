using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;
using XmppTransfer.Core.Xml;
using XmppTransfer.Testing;

namespace XmppTransfer.Core.Tests.Transport;

public class OutgoingQueueTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Stanzas_that_fit_are_queued_at_once_and_come_out_in_order()
    {
        var queue = new OutgoingQueue(64 * 1024);

        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 100)));
        var send = queue.EnqueueAsync(Message("b", 100), s_cap, CancellationToken.None);

        Assert.True(send.IsCompletedSuccessfully);
        Assert.Equal(["a", "b"], await DrainAsync(queue, 2));
        Assert.Equal(0, queue.QueuedBytes);
    }

    [Fact]
    public void A_full_queue_refuses_without_waiting_and_the_stall_clock_runs_until_a_write_completes()
    {
        var clock = new ManualTimeProvider();
        var queue = new OutgoingQueue(8 * 1024, clock);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 6000)));

        Assert.Equal(EnqueueResult.Full, queue.TryEnqueue(Message("b", 6000)));
        clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(7), queue.StalledFor);

        queue.OnWritten();
        Assert.Equal(TimeSpan.Zero, queue.StalledFor);
    }

    [Fact]
    public async Task A_stanza_larger_than_the_whole_limit_goes_when_the_queue_is_empty()
    {
        var queue = new OutgoingQueue(1024);

        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("big", 10_000)));
        Assert.Equal(EnqueueResult.Full, queue.TryEnqueue(Message("small", 10)));

        Assert.Equal(["big"], await DrainAsync(queue, 1));
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("small", 10)));
    }

    [Fact]
    public async Task Waiting_senders_get_in_in_call_order_as_the_writer_makes_room()
    {
        var queue = new OutgoingQueue(8 * 1024);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 6000)));

        // Not awaited one by one, like pipelined IBB blocks: the order must still hold.
        var b = queue.EnqueueAsync(Message("b", 6000), s_cap, CancellationToken.None).AsTask();
        var c = queue.EnqueueAsync(Message("c", 100), s_cap, CancellationToken.None).AsTask();
        Assert.False(b.IsCompleted);
        Assert.False(c.IsCompleted);

        Assert.Equal(["a", "b", "c"], await DrainAsync(queue, 3));
        await Task.WhenAll(b, c).WaitAsync(s_cap);
    }

    [Fact]
    public async Task A_waiting_send_is_cancelled_with_the_callers_token_and_leaves_the_queue_as_it_was()
    {
        var queue = new OutgoingQueue(1024);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 1000)));
        using var cts = new CancellationTokenSource();

        var send = queue.EnqueueAsync(Message("b", 1000), s_cap, cts.Token).AsTask();
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(s_cap));
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(["a"], await DrainAsync(queue, 1));
        Assert.Equal(0, queue.QueuedBytes);
    }

    [Fact]
    public async Task A_send_that_finds_no_room_in_time_fails_with_a_timeout_error()
    {
        var queue = new OutgoingQueue(1024);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 1000)));

        var ex = await Assert.ThrowsAsync<XmppException>(
            () => queue.EnqueueAsync(Message("b", 1000), TimeSpan.FromMilliseconds(100), CancellationToken.None).AsTask().WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.Timeout, ex.Kind);
    }

    [Fact]
    public async Task Closing_for_a_peer_that_does_not_read_discards_the_queue_puts_the_error_next_and_fails_waiting_senders()
    {
        var queue = new OutgoingQueue(1024);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueue(Message("a", 1000)));
        var waiting = queue.EnqueueAsync(Message("b", 1000), s_cap, CancellationToken.None).AsTask();

        queue.Complete(StreamError.Create("policy-violation", null), discardQueued: true);

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => waiting.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        Assert.Equal(EnqueueResult.Closed, queue.TryEnqueue(Message("c", 10)));
        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(s_cap));
        Assert.True(queue.TryDequeue(out var next));
        Assert.Equal(StreamError.Name, next.Name);
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(s_cap));
    }

    [Fact]
    public void The_size_estimate_follows_the_payload()
    {
        var small = StanzaSize.Estimate(Message("a", 10));
        var large = StanzaSize.Estimate(Message("a", 10_000));

        Assert.InRange(large - small, 9_990, 10_010);
    }

    private static XElement Message(string id, int bodyLength) =>
        new(Stanza.Message, new XAttribute("id", id), new XElement(XName.Get("body", Namespaces.Client), new string('x', bodyLength)));

    private static async Task<List<string>> DrainAsync(OutgoingQueue queue, int count)
    {
        var ids = new List<string>();
        while (ids.Count < count && await queue.WaitToReadAsync().AsTask().WaitAsync(s_cap))
        {
            while (ids.Count < count && queue.TryDequeue(out var stanza))
            {
                ids.Add((string)stanza.Attribute("id")!);
            }
        }

        return ids;
    }
}
