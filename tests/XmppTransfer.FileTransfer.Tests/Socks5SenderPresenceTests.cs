using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// The SOCKS5 receiver's data phase and the sender's unavailable presence: a sender gone by presence that stops sending
/// ends the receive after Socks5PeerGoneGrace (2 s), not the inactivity timeout; one that keeps sending (invisible, or
/// presence wrong) is received to the end. The sender's connection stays open throughout: only the presence says it left.
/// The sender's content is gated: it stops where the test says, and goes on only as far as the test opens it.
/// </summary>
public sealed class Socks5SenderPresenceTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    /// <summary>Far below the receiver's inactivity timeout (10 min), so only the grace after the presence can pass it.</summary>
    private static readonly TimeSpan s_prompt = TimeSpan.FromSeconds(20);

    private static readonly Socks5BytestreamOptions s_loopback = new() { LoopbackOnly = true, Hosts = ["127.0.0.1"], DiscoverProxies = false };
    private readonly string _root = Directory.CreateTempSubdirectory("xft-s5b-presence-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private FileTransferManager _aliceFiles = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceFiles = new FileTransferManager(new FileTransferOptions { Socks5 = s_loopback });
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles));
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_sender_gone_by_presence_that_stops_sending_ends_the_socks5_receive_after_the_grace_with_peer_unavailable_and_the_part_kept(bool zeroCopy)
    {
        var (bobFiles, bob) = await ConnectReceiverAsync(zeroCopy);
        await using var _ = bob;
        const int Size = 4 * 1024 * 1024;
        const int StopAt = 100_000;
        var content = new GatedStream(new byte[Size], StopAt);
        using var stopAlice = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var send = _aliceFiles.SendStreamAsync(
            bob.BoundJid, content, new Si.FileOfferDescription("silent.bin", Size), new FileSendOptions { ComputeHashes = false }, cancellationToken: stopAlice.Token);
        var offer = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
        var inbox = Path.Combine(_root, "in");
        var receive = offer.AcceptAsync(inbox, ReceiveOptions(zeroCopy), cancellationToken: Ct);
        await content.Stopped.WaitAsync(s_cap, Ct);

        Unavailable(bob.BoundJid);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt, Ct));
        Assert.True(ex.ErrorKind == FileTransferErrorKind.PeerUnavailable, ex.ToString());
        Assert.Contains(_alice.BoundJid + " went offline (its presence) and sent nothing for 2 s since", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the part is kept for resuming", ex.Message, StringComparison.Ordinal);
        Assert.InRange(new FileInfo(Path.Combine(inbox, "silent.bin.part")).Length, 0, StopAt);
        Assert.False(File.Exists(Path.Combine(inbox, "silent.bin")));

        await stopAlice.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(s_cap, Ct));
    }

    [Fact]
    public async Task A_sender_gone_by_presence_that_keeps_sending_past_the_grace_is_received_to_the_end()
    {
        // Bob's watchdog on a clock only the test moves: after the presence, each piece is let through, seen received, and
        // followed by half a grace of Bob's time, so the rest takes four graces with no gap near one.
        var clock = new ManualTimeProvider(manualTimers: true);
        var (bobFiles, bob) = await ConnectReceiverAsync(zeroCopy: true, clock);
        await using var _ = bob;
        const int StopAt = 100_000;
        const int Piece = 8 * 1024;
        const int Pieces = 8;
        const int Size = StopAt + (Pieces * Piece);
        var step = FileTransferManager.Socks5PeerGoneGrace / 2;
        var bytes = new byte[Size];
        Random.Shared.NextBytes(bytes);
        var content = new GatedStream(bytes, StopAt);
        var send = _aliceFiles.SendStreamAsync(
            bob.BoundJid, content, new Si.FileOfferDescription("trickle.bin", Size), new FileSendOptions { ComputeHashes = false }, cancellationToken: Ct);
        var offer = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
        var progress = new ProgressMark();
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), ReceiveOptions(zeroCopy: true), progress, Ct);
        await ReceivedAsync(StopAt);

        await UnavailableAsync(bob);
        for (var piece = 1; piece <= Pieces; piece++)
        {
            content.Open(Piece);
            await ReceivedAsync(StopAt + (piece * Piece));
            clock.Advance(step);
        }

        async Task ReceivedAsync(long bytes)
        {
            // A receive that ends before the bytes arrive fails the test with its own exception, not the cap.
            var reached = progress.ReachedAsync(bytes);
            await Task.WhenAny(reached, receive).WaitAsync(s_cap, Ct);
            if (!reached.IsCompleted)
            {
                await receive;
            }
        }

        var received = await receive.WaitAsync(s_cap, Ct);
        await send.WaitAsync(s_cap, Ct);
        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
        Assert.Equal(Size, received.BytesTransferred);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(received.Path!, Ct));
    }

    /// <summary>
    /// Bob, the receiver: every timeout of his far beyond the caps, so only the presence rule can end a receive in time; on
    /// <paramref name="clock"/> when given (else the system's), reporting every step of progress.
    /// </summary>
    private async Task<(FileTransferManager Files, XmppClient Client)> ConnectReceiverAsync(bool zeroCopy, TimeProvider? clock = null)
    {
        var files = new FileTransferManager(new FileTransferOptions
        {
            Socks5 = s_loopback with { NegotiationTimeout = TimeSpan.FromMinutes(10) },
            FallbackWait = TimeSpan.FromMinutes(10),
            Socks5InactivityTimeout = TimeSpan.FromMinutes(10),
            ZeroCopyReceive = zeroCopy,
            ProgressInterval = TimeSpan.Zero,
            TimeProvider = clock ?? TimeProvider.System,
        });
        var client = await _router.ConnectAsync("bob", c => c.AddExtension(files));
        return (files, client);
    }

    /// <summary>Zero copy (the pipe -> file splice) takes only a receive that hashes nothing; the offers here carry no hash.</summary>
    private static FileReceiveOptions ReceiveOptions(bool zeroCopy) => new() { ComputeSha256 = !zeroCopy };

    /// <summary>Alice's unavailable presence, delivered to Bob alone: her session and her bytestream stay up (as for an invisible sender).</summary>
    private void Unavailable(Jid to) =>
        Assert.True(_router.Deliver(to, new XElement(Stanza.Presence, new XAttribute("from", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable"))));

    /// <summary>
    /// <see cref="Unavailable"/>, returning once Bob's session has handed it to its listeners: his bytestreams' listener was
    /// added before ours (with his file manager), so the receive has been told by the time ours runs.
    /// </summary>
    private async Task UnavailableAsync(XmppClient to)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Seen(XElement presence)
        {
            if (Stanza.GetUnavailableFullJid(presence) == _alice.BoundJid)
            {
                seen.TrySetResult();
            }
        }

        to.PresenceReceived += Seen;
        try
        {
            Unavailable(to.BoundJid);
            await seen.Task.WaitAsync(s_cap, Ct);
        }
        finally
        {
            to.PresenceReceived -= Seen;
        }
    }

    /// <summary>
    /// Content that stops at <c>stopAt</c> and goes on only as far as <see cref="Open"/> lets it: the shape of a sender that
    /// goes silent, or trickles, step by step under the test's control rather than the wall clock's.
    /// </summary>
    private sealed class GatedStream(byte[] content, int stopAt) : MemoryStream(content, writable: false)
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _opened = new(0);
        private long _limit = stopAt;

        /// <summary>Completes when a read reached the stop.</summary>
        public Task Stopped => _stopped.Task;

        /// <summary>Lets <paramref name="bytes"/> more be read.</summary>
        public void Open(int bytes)
        {
            Interlocked.Add(ref _limit, bytes);
            _opened.Release();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // Bounded: each pass waits for one Open, which moved the limit.
            while (Position >= Interlocked.Read(ref _limit) && Position < Length)
            {
                _stopped.TrySetResult();
                await _opened.WaitAsync(cancellationToken);
            }

            var room = (int)Math.Min(buffer.Length, Math.Max(0, Interlocked.Read(ref _limit) - Position));
            return await base.ReadAsync(buffer[..room], cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _opened.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
