using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Ibb;

/// <summary>
/// Our own session ending (here: the server drops our connection, and tells nobody) ends the in-band bytestreams of that
/// session at once. Every wait involved is far beyond the 30 s cap by default or by option, so only a prompt end passes.
/// </summary>
public sealed class InBandBytestreamSessionEndTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    /// <summary>Block answers and the receiver's silence waited for far longer than the cap.</summary>
    private static readonly InBandBytestreamOptions s_slow = InBandBytestreamOptions.Default with
    {
        BlockSize = 512,
        Window = 2,
        BlockTimeout = TimeSpan.FromMinutes(10),
        InactivityTimeout = TimeSpan.FromMinutes(10),
        OpenTimeout = TimeSpan.FromMinutes(10),
    };

    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private InBandBytestreamManager _aliceIbb = null!;
    private InBandBytestreamManager _bobIbb = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceIbb = new InBandBytestreamManager(s_slow);
        _bobIbb = new InBandBytestreamManager(s_slow);
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
    public async Task A_reader_whose_own_session_drops_fails_at_once_as_closed_not_after_the_inactivity_timeout()
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, "rx");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "rx").WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var reading = receive.ReadAsync(new byte[16]).AsTask();

        await DropAsync(_bob);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => reading.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.StartsWith("Our XMPP session ended", ex.Message, StringComparison.Ordinal);
        Assert.Contains("before the in-band bytestream from " + _alice.BoundJid + " was complete", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_whose_own_session_drops_while_blocks_are_unanswered_fails_at_once_as_closed()
    {
        // Bob never reads, so no block is answered: the third write waits for the first block's answer.
        var blocksSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocks = 0;
        _router.Intercept = stanza =>
        {
            if (stanza.Element(IbbData.Name) is not null && Interlocked.Increment(ref blocks) == 2)
            {
                blocksSeen.TrySetResult();
            }

            return stanza;
        };
        var incoming = _bobIbb.Expect(_alice.BoundJid, "tx");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "tx").WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var writing = WriteBlocksAsync(send, 3);
        await blocksSeen.Task.WaitAsync(s_cap);

        await DropAsync(_alice);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => writing.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.StartsWith("Our XMPP session ended", ex.Message, StringComparison.Ordinal);

        // Later calls say the same, not a raw connection error.
        var again = await Assert.ThrowsAsync<BytestreamException>(() => send.WriteAsync(new byte[1]).AsTask().WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, again.ErrorKind);
    }

    [Fact]
    public async Task A_message_mode_sender_whose_own_session_drops_fails_its_next_write_as_closed()
    {
        var incoming = _bobIbb.Expect(_alice.BoundJid, "msg");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "msg", s_slow with { Stanza = IbbStanzaKind.Message }).WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);

        await DropAsync(_alice);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => send.WriteAsync(new byte[2048]).AsTask().WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.StartsWith("Our XMPP session ended", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wait_for_an_expected_open_ends_at_once_when_our_own_session_drops()
    {
        var expected = _bobIbb.Expect(_alice.BoundJid, "never");
        var waiting = _bobIbb.WaitExpectedAsync(_alice.BoundJid, "never", expected);

        await DropAsync(_bob);

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => waiting.WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
        Assert.Contains("before " + _alice.BoundJid + " opened the in-band bytestream", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_open_expected_after_our_session_ended_fails_at_once_and_an_open_of_ours_fails_as_closed()
    {
        await DropAsync(_bob);

        var expected = await Assert.ThrowsAsync<BytestreamException>(() => _bobIbb.ExpectAsync(_alice.BoundJid, "late").WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, expected.ErrorKind);
        var open = await Assert.ThrowsAsync<BytestreamException>(() => _bobIbb.OpenAsync(_alice.BoundJid, "late").WaitAsync(s_cap));
        Assert.Equal(BytestreamErrorKind.Closed, open.ErrorKind);
    }

    [Fact]
    public async Task Expected_opens_and_open_bytestreams_are_removed_as_well_as_failed_when_our_own_session_drops()
    {
        var unwaited = _bobIbb.Expect(_alice.BoundJid, "unwaited");
        var incoming = _bobIbb.Expect(_alice.BoundJid, "rx");
        await using var send = await _aliceIbb.OpenAsync(_bob.BoundJid, "rx").WaitAsync(s_cap);
        await using var receive = await incoming.WaitAsync(s_cap);
        var reading = receive.ReadAsync(new byte[16]).AsTask();

        await DropAsync(_bob);
        var late = _bobIbb.Expect(_alice.BoundJid, "late");

        // The sweep removes each entry before failing it: once the last failure is seen, nothing may be left.
        await Assert.ThrowsAsync<BytestreamException>(() => unwaited.WaitAsync(s_cap));
        await Assert.ThrowsAsync<BytestreamException>(() => late.WaitAsync(s_cap));
        await Assert.ThrowsAsync<BytestreamException>(() => reading.WaitAsync(s_cap));
        Assert.Equal(0, _bobIbb.ExpectedCount);
        Assert.Equal(0, _bobIbb.OpenCount);
    }

    /// <summary>Drops <paramref name="client"/>'s connection without telling anyone, and waits until its session has noticed.</summary>
    private async Task DropAsync(XmppClient client)
    {
        await _router.DisconnectAsync(client.BoundJid, announce: false).WaitAsync(s_cap);
        await Assert.ThrowsAnyAsync<XmppException>(() => client.Completion.WaitAsync(s_cap));
    }

    /// <summary>Writes <paramref name="count"/> blocks of 512 bytes: with a window of 2, the third waits for the first's answer.</summary>
    private static async Task WriteBlocksAsync(IbbSendStream send, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await send.WriteAsync(new byte[512]);
        }
    }
}
