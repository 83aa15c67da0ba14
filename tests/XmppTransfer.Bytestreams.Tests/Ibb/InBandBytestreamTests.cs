using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Ibb;

public sealed class InBandBytestreamTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private InBandBytestreamManager _aliceIbb = null!;
    private InBandBytestreamManager _bobIbb = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceIbb = new InBandBytestreamManager();
        _bobIbb = new InBandBytestreamManager(InBandBytestreamOptions.Default with { MaxAcceptedBlockSize = 1024 });
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceIbb));
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobIbb));
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
    }

    [Fact]
    public async Task An_open_for_a_session_nobody_negotiated_is_not_acceptable()
    {
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _aliceIbb.OpenAsync(_bob.BoundJid, "unknown").WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("not-acceptable", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_open_after_the_peers_unavailable_presence_is_refused_not_made_a_stream_nobody_waits_for()
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, "gone");
        Assert.True(_router.Deliver(
            _bob.BoundJid, new XElement(Stanza.Presence, new XAttribute("from", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable"))));
        Assert.Equal(BytestreamErrorKind.Closed, (await Assert.ThrowsAsync<BytestreamException>(() => incoming.WaitAsync(s_cap))).ErrorKind);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _aliceIbb.OpenAsync(_bob.BoundJid, "gone").WaitAsync(s_cap));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Equal(0, _bobIbb.OpenCount);
    }

    [Fact]
    public async Task Resource_constraint_makes_the_sender_retry_with_half_the_block_size()
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, "s1");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "s1", InBandBytestreamOptions.Default with { BlockSize = 4096 }).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);

        Assert.Equal(1024, send.Open.BlockSize);
        Assert.Equal(1024, receive.Open.BlockSize);
        var payload = RandomNumberGenerator.GetBytes(5000);
        var reading = ReadAllAsync(receive);
        await send.WriteAsync(payload);
        await send.CompleteAsync();
        Assert.Equal(payload, await reading.WaitAsync(s_cap));
    }

    [Fact]
    public async Task Resource_constraint_below_the_floor_fails_the_open()
    {
        _ = _bobIbb.Expect(_alice.BoundJid, "s2");
        var options = InBandBytestreamOptions.Default with { BlockSize = 8192, MinBlockSize = 4096 };
        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _aliceIbb.OpenAsync(_bob.BoundJid, "s2", options).WaitAsync(s_cap));
        Assert.Contains("resource-constraint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_window_bounds_unacknowledged_blocks_in_flight()
    {
        var inFlight = 0;
        var maxInFlight = 0;
        _router.Intercept = stanza =>
        {
            if (stanza.Element(IbbData.Name) is not null)
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref maxInFlight, now);
            }
            else if (stanza.Name == Stanza.Iq && (string?)stanza.Attribute("type") == "result" && stanza.Attribute("to")?.Value.StartsWith("alice", StringComparison.Ordinal) == true)
            {
                Interlocked.Decrement(ref inFlight);
            }

            return stanza;
        };
        var incoming = _bobIbb.Expect(_alice.BoundJid, "w");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "w", InBandBytestreamOptions.Default with { BlockSize = 512, Window = 4 }).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var reading = ReadAllAsync(receive);
        await send.WriteAsync(RandomNumberGenerator.GetBytes(512 * 200));
        await send.CompleteAsync();
        await reading.WaitAsync(s_cap);

        Assert.InRange(maxInFlight, 2, 4);
    }

    [Fact]
    public async Task A_sender_with_a_window_of_200_big_blocks_keeps_under_our_receivers_cap_while_the_reader_lags()
    {
        // Our receiver with its defaults: at most 8 MiB unread, each block counted with 1 KiB more.
        var erinIbb = new InBandBytestreamManager();
        await using var erin = await _router.ConnectAsync("erin", c => c.AddExtension(erinIbb));
        var cap = erinIbb.Options.MaxBufferedBytes;
        const int BlockSize = 65535;

        // The router sees every data IQ towards erin and every result back: what is between them is unread at erin.
        var unacknowledged = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var maxUnacknowledged = 0;
        var window = int.MaxValue;
        var windowFull = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            var id = (string?)stanza.Attribute("id") ?? "";
            if (stanza.Element(IbbData.Name) is not null && unacknowledged.TryAdd(id, true))
            {
                InterlockedMax(ref maxUnacknowledged, unacknowledged.Count);
                if (unacknowledged.Count >= Volatile.Read(ref window))
                {
                    windowFull.TrySetResult();
                }
            }
            else if (stanza.Name == Stanza.Iq && (string?)stanza.Attribute("type") == "result")
            {
                unacknowledged.TryRemove(id, out _);
            }

            return stanza;
        };

        var incoming = erinIbb.Expect(_alice.BoundJid, "big");
        var options = InBandBytestreamOptions.Default with { Window = 200, BlockSize = BlockSize };
        await using var send = await _aliceIbb.OpenAsync(erin.BoundJid, "big", options).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        Volatile.Write(ref window, send.Window);

        // 200 full blocks and a partial one: 13 MiB, more than the window of 200 could hold at the receiver.
        var payload = RandomNumberGenerator.GetBytes((200 * BlockSize) + 1000);
        var writing = Task.Run(async () =>
        {
            await send.WriteAsync(payload);
            await send.CompleteAsync();
        });

        // The reader lags: nothing is read (so nothing acknowledged) until the sender has a whole window out.
        await windowFull.Task.WaitAsync(s_cap);
        var reading = ReadAllAsync(receive);
        await writing.WaitAsync(s_cap);

        Assert.Equal(payload, await reading.WaitAsync(s_cap));
        Assert.Equal(63, send.Window);
        Assert.Equal(send.Window, maxUnacknowledged);
        Assert.InRange((long)maxUnacknowledged * (BlockSize + 1024), 0, cap / 2);
    }

    [Fact]
    public async Task The_byte_bound_on_the_window_uses_the_block_size_the_receiver_agreed_to()
    {
        // Erin takes blocks of up to 16383 bytes: 65535 is refused twice and halved to 16383, where 4 MiB holds 240 blocks.
        var erinIbb = new InBandBytestreamManager(InBandBytestreamOptions.Default with { MaxAcceptedBlockSize = 16383 });
        await using var erin = await _router.ConnectAsync("erin", c => c.AddExtension(erinIbb));
        using var log = new RecordingLoggerFactory();
        var frankIbb = new InBandBytestreamManager();
        await using var frank = await ConnectLoggedAsync("frank", frankIbb, log);
        var incoming = erinIbb.Expect(frank.BoundJid, "smaller");
        var options = InBandBytestreamOptions.Default with { Window = 200, BlockSize = 65535 };
        await using var send = await frankIbb.OpenAsync(erin.BoundJid, "smaller", options).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);

        Assert.Equal(16383, send.Open.BlockSize);
        Assert.Equal(200, send.Window);
        var opened = Assert.Single(log.Events, e => e.Id.Id == 2000);
        Assert.EndsWith("block size 16383, Iq stanzas, window 200", opened.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_open_logs_the_window_in_effect_not_the_one_asked_for()
    {
        var erinIbb = new InBandBytestreamManager();
        await using var erin = await _router.ConnectAsync("erin", c => c.AddExtension(erinIbb));
        using var log = new RecordingLoggerFactory();
        var frankIbb = new InBandBytestreamManager();
        await using var frank = await ConnectLoggedAsync("frank", frankIbb, log);
        var incoming = erinIbb.Expect(frank.BoundJid, "logged");
        var options = InBandBytestreamOptions.Default with { Window = 200, BlockSize = 65535 };
        await using var send = await frankIbb.OpenAsync(erin.BoundJid, "logged", options).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);

        var opened = Assert.Single(log.Events, e => e.Id.Id == 2000);
        Assert.EndsWith("block size 65535, Iq stanzas, window 63", opened.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_that_does_not_wait_for_acknowledgements_is_stopped_with_resource_constraint_at_the_buffer_cap()
    {
        var daveIbb = new InBandBytestreamManager(
            InBandBytestreamOptions.Default with { MaxBufferedBytes = 16 * 1024, MaxAcceptedBlockSize = 1024 });
        await using var dave = await _router.ConnectAsync("dave", c => c.AddExtension(daveIbb));
        var incoming = daveIbb.Expect(_alice.BoundJid, "flood");
        await _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, dave.BoundJid, new IbbOpen("flood", 1024, IbbStanzaKind.Iq).ToXml())).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);

        // Nobody reads yet, and the sender does not wait for results: 8 blocks of 1 KiB (+1 KiB each) fill 16 KiB.
        var sends = Enumerable.Range(0, 64)
            .Select(seq => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, dave.BoundJid, IbbData.Create("flood", (ushort)seq, new byte[1024]))))
            .ToList();

        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => sends[8].WaitAsync(s_cap));
        var afterwards = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => sends[^1].WaitAsync(s_cap));
        var reading = await Assert.ThrowsAsync<BytestreamException>(() => ReadAllAsync(receive).WaitAsync(s_cap));
        await Task.WhenAll(sends.Take(8)).WaitAsync(s_cap);

        Assert.Equal("resource-constraint", refused.Error.Condition);
        Assert.Equal("item-not-found", afterwards.Error.Condition);
        Assert.Equal(BytestreamErrorKind.ProtocolViolation, reading.ErrorKind);
    }

    [Fact]
    public async Task An_empty_data_block_is_acknowledged_and_not_taken_for_the_end_of_the_stream()
    {
        var receive = await OpenRawAsync("empty");
        var reading = ReadAllAsync(receive);
        await SendDataAsync("empty", 0, [1, 2, 3]);
        await SendDataAsync("empty", 1, []);
        await SendDataAsync("empty", 2, [4, 5]);
        await _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, IbbClose.Create("empty"))).WaitAsync(s_cap);

        Assert.Equal([1, 2, 3, 4, 5], await reading.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_repeated_seq_is_unexpected_request_and_closes_the_stream()
    {
        var receive = await OpenRawAsync("dup");
        var reading = ReadAllAsync(receive);
        await SendDataAsync("dup", 0, [1, 2, 3]);
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => SendDataAsync("dup", 0, [1, 2, 3]));
        Assert.Equal("unexpected-request", ex.Error.Condition);
        await Assert.ThrowsAsync<BytestreamException>(() => reading.WaitAsync(s_cap));
    }

    [Fact]
    public async Task A_gap_in_seq_is_refused_and_later_blocks_are_not_processed()
    {
        var receive = await OpenRawAsync("gap");
        var reading = ReadAllAsync(receive);
        await SendDataAsync("gap", 0, [1]);
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => SendDataAsync("gap", 2, [3]));
        Assert.Equal("unexpected-request", ex.Error.Condition);
        var after = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => SendDataAsync("gap", 1, [2]));
        Assert.Equal("item-not-found", after.Error.Condition);
        await Assert.ThrowsAsync<BytestreamException>(() => reading.WaitAsync(s_cap));
    }

    [Fact]
    public async Task Bad_base64_is_bad_request()
    {
        await OpenRawAsync("b64");
        var data = new XElement(IbbData.Name, new XAttribute("sid", "b64"), new XAttribute("seq", "0"), "not*base64");
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, data)).WaitAsync(s_cap));
        Assert.Equal("bad-request", ex.Error.Condition);
    }

    [Fact]
    public async Task Data_for_an_unknown_sid_is_item_not_found()
    {
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => SendDataAsync("nothing", 0, [1]));
        Assert.Equal("item-not-found", ex.Error.Condition);
    }

    [Fact]
    public async Task A_close_from_the_receiver_stops_the_sender()
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, "rc");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "rc", InBandBytestreamOptions.Default with { BlockSize = 512, Window = 1 }).WaitAsync(s_cap);
        var receive = await incoming.WaitAsync(s_cap);
        await receive.DisposeAsync();

        var ex = await Assert.ThrowsAsync<BytestreamException>(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await send.WriteAsync(new byte[512]);
            }

            await send.CompleteAsync();
        }).WaitAsync(s_cap);
        Assert.Contains(ex.ErrorKind, new[] { BytestreamErrorKind.Cancelled, BytestreamErrorKind.Refused });
    }

    [Fact]
    public async Task A_sender_that_goes_offline_without_a_close_fails_the_reader_at_once_not_after_the_inactivity_timeout()
    {
        var receive = await OpenRawAsync("gone");
        var first = new byte[3];
        var reading = receive.ReadExactlyAsync(first).AsTask();

        // A block is acknowledged when it is read, so the read runs while the block is sent.
        await SendDataAsync("gone", 0, [1, 2, 3]);
        await reading.WaitAsync(s_cap);

        // What a server sends when the sender's connection drops (its default inactivity timeout is 120 s, the cap 30 s).
        await _alice.SendAsync(new XElement(Stanza.Presence, new XAttribute("to", _bob.BoundJid.ToString()), new XAttribute("type", "unavailable")));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => receive.ReadAsync(new byte[16]).AsTask().WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("went offline", ex.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], first);
    }

    [Fact]
    public async Task Unavailable_presence_from_someone_else_leaves_the_stream_alone()
    {
        var receive = await OpenRawAsync("other");
        await using var carol = await _router.ConnectAsync("carol");
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _bob.PresenceReceived += presence =>
        {
            if ((string?)presence.Attribute("type") == "unavailable" && Stanza.GetFrom(presence) == carol.BoundJid)
            {
                seen.TrySetResult();
            }
        };

        await carol.SendAsync(new XElement(Stanza.Presence, new XAttribute("to", _bob.BoundJid.ToString()), new XAttribute("type", "unavailable")));
        await seen.Task.WaitAsync(s_cap);

        var one = new byte[1];
        var reading = receive.ReadExactlyAsync(one).AsTask();
        await SendDataAsync("other", 0, [9]);
        await reading.WaitAsync(s_cap);

        Assert.Equal(9, one[0]);
    }

    [Fact]
    public async Task A_receiver_that_goes_offline_ends_the_senders_wait_for_block_answers_at_once_and_gets_a_close_not_waited_for()
    {
        // Bob never reads, so none of the blocks he was given is answered: what a receiver killed mid-stream leaves behind.
        var (send, receive, closes) = await OpenUnreadAsync("offline");
        await using var sending = send;
        await using var receiving = receive;
        var writing = WriteBlocksAsync(send, 3);
        await closes.BlocksSeen.WaitAsync(s_cap);

        // What the server sends when the receiver's connection drops; the block timeout (10 min) is far beyond the cap.
        await _bob.SendAsync(new XElement(Stanza.Presence, new XAttribute("to", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable")));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => writing.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("The receiver " + _bob.BoundJid + " went offline", ex.Message, StringComparison.Ordinal);

        // Presence alone may be wrong (a server also sends it for a session still connected, e.g. after the contact
        // cancelled its subscription): the close still goes out, unawaited, and a receiver still there ends its read on it.
        Assert.Equal(1, await closes.CountAfterMarkerAsync(_alice, _bob.BoundJid));
        var buffer = new byte[4096];
        while (await receiving.ReadAsync(buffer).AsTask().WaitAsync(s_cap) > 0)
        {
        }
    }

    [Theory]
    [InlineData("service-unavailable")]
    [InlineData("recipient-unavailable")]
    [InlineData("item-not-found")]
    public async Task A_block_answered_with_an_error_ends_the_send_at_once_though_older_blocks_are_still_unanswered(string condition)
    {
        var bounced = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            // The second block is taken out of the stream and answered with an error, as a server does for a receiver
            // that is gone; the first stays with bob, unread and unanswered.
            if ((string?)stanza.Attribute("type") == "set" && stanza.Element(IbbData.Name) is { } data && (string?)data.Attribute("seq") == "1")
            {
                bounced.TrySetResult(stanza);
                return null;
            }

            return stanza;
        };
        var incoming = _bobIbb.Expect(_alice.BoundJid, "bounce");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "bounce", s_slowAcks).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var writing = WriteBlocksAsync(send, 3);
        var block = await bounced.Task.WaitAsync(s_cap);

        await _bob.SendAsync(Stanza.MakeError(block, new StanzaError(StanzaErrorType.Cancel, condition)));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => writing.WaitAsync(s_cap));
        Assert.Contains(condition, ex.Message, StringComparison.Ordinal);
        Assert.Equal(condition == "item-not-found" ? BytestreamErrorKind.Cancelled : BytestreamErrorKind.Closed, ex.ErrorKind);
    }

    [Fact]
    public async Task A_receiver_that_closes_ends_the_send_at_once_without_a_close_back_to_it()
    {
        var (send, receive, closes) = await OpenUnreadAsync("closed");
        await using var sending = send;
        var writing = WriteBlocksAsync(send, 3);
        await closes.BlocksSeen.WaitAsync(s_cap);

        // Bob's close, then his errors for the blocks he held: a close of ours would go to a receiver that is done (or,
        // for a receiver whose process is exiting, to nobody, and would wait 10 s for its answer).
        await receive.DisposeAsync();

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => writing.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Cancelled, ex.ErrorKind);
        Assert.Contains("closed the in-band bytestream before the end", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await closes.CountAfterMarkerAsync(_alice, _bob.BoundJid));
    }

    [Fact]
    public async Task A_sender_that_goes_offline_before_its_open_ends_the_wait_for_it_at_once_not_after_the_open_timeout()
    {
        // The open timeout is 60 s by default, the cap 30 s.
        var expected = _bobIbb.Expect(_alice.BoundJid, "never");
        await _alice.SendAsync(new XElement(Stanza.Presence, new XAttribute("to", _bob.BoundJid.ToString()), new XAttribute("type", "unavailable")));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => _bobIbb.WaitExpectedAsync(_alice.BoundJid, "never", expected).WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("went offline before opening", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_receiver_that_goes_offline_while_the_close_is_unanswered_fails_the_send_at_once_as_unconfirmed()
    {
        var closeSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _router.Intercept = stanza =>
        {
            if ((string?)stanza.Attribute("type") == "set" && stanza.Element(IbbClose.Name) is not null
                && (string?)stanza.Attribute("from") == _alice.BoundJid.ToString())
            {
                // The receiver died just after acknowledging the last block: the close reaches nobody.
                closeSent.TrySetResult();
                return null;
            }

            return stanza;
        };
        var incoming = _bobIbb.Expect(_alice.BoundJid, "lastack");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "lastack", s_slowAcks).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var payload = RandomNumberGenerator.GetBytes(2000);
        var received = new byte[payload.Length];
        var reading = receive.ReadExactlyAsync(received).AsTask();
        await send.WriteAsync(payload);
        var completing = send.CompleteAsync();
        await closeSent.Task.WaitAsync(s_cap);

        await _bob.SendAsync(new XElement(Stanza.Presence, new XAttribute("to", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable")));

        // Every block was acknowledged, but only the close's answer says the receiver has the whole file (ours keeps a
        // partial until then): a failure, at once, not after the 10 min block timeout.
        var failure = await Assert.ThrowsAsync<BytestreamException>(() => completing.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, failure.ErrorKind);
        Assert.Contains("went offline before it answered the close", failure.Message, StringComparison.Ordinal);
        await reading.WaitAsync(s_cap);
        Assert.Equal(payload, received);
    }

    [Fact]
    public async Task A_newer_expectation_for_the_same_sid_ends_the_older_wait_at_once_and_takes_the_open()
    {
        var older = _bobIbb.Expect(_alice.BoundJid, "twice");
        var newer = _bobIbb.Expect(_alice.BoundJid, "twice");

        var replaced = await Assert.ThrowsAsync<BytestreamException>(() => _bobIbb.WaitExpectedAsync(_alice.BoundJid, "twice", older).WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Cancelled, replaced.ErrorKind);

        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "twice").WaitAsync(s_cap);
        await using var receive = await newer.WaitAsync(s_cap);
        Assert.Equal("twice", receive.Open.Sid);
    }

    [Fact]
    public async Task A_receiver_that_answers_the_close_and_goes_offline_right_after_confirms_the_send()
    {
        // The close's answer and the unavailable presence right behind it, in that order (a receiver that exits once it has
        // the file): the answer decides, however the sender's two waits are scheduled.
        string? closeId = null;
        _router.Intercept = stanza =>
        {
            var from = (string?)stanza.Attribute("from");
            if (stanza.Element(IbbClose.Name) is not null && from == _alice.BoundJid.ToString())
            {
                Volatile.Write(ref closeId, (string?)stanza.Attribute("id"));
            }
            else if ((string?)stanza.Attribute("type") == "result" && from == _bob.BoundJid.ToString()
                && (string?)stanza.Attribute("id") == Volatile.Read(ref closeId))
            {
                // Written to alice with the presence right behind it, so her read loop handles the two back to back.
                var gone = new XElement(Stanza.Presence, new XAttribute("from", from), new XAttribute("to", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable"));
                _router.Deliver(_alice.BoundJid, stanza, gone);
                return null;
            }

            return stanza;
        };
        var incoming = _bobIbb.Expect(_alice.BoundJid, "answered");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "answered", s_slowAcks).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var payload = RandomNumberGenerator.GetBytes(2000);
        var received = new byte[payload.Length];
        var reading = receive.ReadExactlyAsync(received).AsTask();

        await send.WriteAsync(payload);
        await send.CompleteAsync().WaitAsync(s_cap);

        await reading.WaitAsync(s_cap);
        Assert.Equal(payload, received);
    }

    /// <summary>Block answers waited for far longer than any cap here: only a prompt end passes.</summary>
    private static readonly InBandBytestreamOptions s_slowAcks = InBandBytestreamOptions.Default with { BlockSize = 512, Window = 2, BlockTimeout = TimeSpan.FromMinutes(10) };

    /// <summary>Alice sends on <paramref name="sid"/>, bob reads nothing (no block is answered); closes from alice are counted.</summary>
    private async Task<(IbbSendStream Send, IbbReceiveStream Receive, CloseCounter Closes)> OpenUnreadAsync(string sid)
    {
        var closes = new CloseCounter(_alice.BoundJid, blocks: 2);
        _router.Intercept = closes.See;
        var incoming = _bobIbb.Expect(_alice.BoundJid, sid);
        var send = await _aliceIbb.OpenAsync(_bob.BoundJid, sid, s_slowAcks).WaitAsync(s_cap);
        return (send, await incoming.WaitAsync(s_cap), closes);
    }

    /// <summary>Writes <paramref name="count"/> blocks of 512 bytes: with a window of 2, the third waits for the first's answer.</summary>
    private static async Task WriteBlocksAsync(IbbSendStream send, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await send.WriteAsync(new byte[512]);
        }
    }

    /// <summary>
    /// Counts the IBB closes one client sends, up to a marker message it sends after them: the router sees a client's
    /// stanzas in order, so every close sent before the marker has been counted when the marker is seen.
    /// </summary>
    private sealed class CloseCounter(Jid from, int blocks)
    {
        private readonly TaskCompletionSource _blocksSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _marker = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _blocks;
        private int _closes;

        /// <summary>Completes when the sender's first blocks passed (so the next write waits for answers).</summary>
        public Task BlocksSeen => _blocksSeen.Task;

        public XElement? See(XElement stanza)
        {
            if ((string?)stanza.Attribute("from") != from.ToString())
            {
                return stanza;
            }

            if (stanza.Element(IbbData.Name) is not null && Interlocked.Increment(ref _blocks) >= blocks)
            {
                _blocksSeen.TrySetResult();
            }
            else if (stanza.Element(IbbClose.Name) is not null)
            {
                Interlocked.Increment(ref _closes);
            }
            else if ((string?)stanza.Attribute("id") == "close-counter-marker")
            {
                _marker.TrySetResult();
                return null;
            }

            return stanza;
        }

        public async Task<int> CountAfterMarkerAsync(XmppClient sender, Jid to)
        {
            await sender.SendAsync(new XElement(Stanza.Message, new XAttribute("to", to.ToString()), new XAttribute("id", "close-counter-marker")));
            await _marker.Task.WaitAsync(s_cap);
            return Volatile.Read(ref _closes);
        }
    }

    private async Task<IbbReceiveStream> OpenRawAsync(string sid)
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, sid);
        await _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, new IbbOpen(sid, 1024, IbbStanzaKind.Iq).ToXml())).WaitAsync(s_cap);
        return await incoming.WaitAsync(s_cap);
    }

    private Task<XmppClient> ConnectLoggedAsync(string user, InBandBytestreamManager ibb, RecordingLoggerFactory log) =>
        _router.ConnectAsync(user, c => c.AddExtension(ibb), _router.ClientOptions(user) with { LoggerFactory = log });

    private Task SendDataAsync(string sid, ushort seq, byte[] bytes) =>
        _alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, IbbData.Create(sid, seq, bytes))).WaitAsync(s_cap);

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
