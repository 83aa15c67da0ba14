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
        var content = new GatedStream(new byte[Size], StopAt, chunk: Size, pace: TimeSpan.Zero);
        using var stopAlice = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var send = _aliceFiles.SendStreamAsync(
            bob.BoundJid, content, new Si.FileOfferDescription("silent.bin", Size), new FileSendOptions { ComputeHashes = false }, cancellationToken: stopAlice.Token);
        var offer = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
        var inbox = Path.Combine(_root, "in");
        var receive = offer.AcceptAsync(inbox, cancellationToken: Ct);
        await content.Stopped.WaitAsync(s_cap, Ct);

        Unavailable(bob.BoundJid);

        var ex = await Assert.ThrowsAsync<FileTransferException>(() => receive.WaitAsync(s_prompt, Ct));
        Assert.Equal(FileTransferErrorKind.PeerUnavailable, ex.ErrorKind);
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
        var (bobFiles, bob) = await ConnectReceiverAsync(zeroCopy: true);
        await using var _ = bob;

        // After the stop, 16 small pieces a quarter second apart: the rest takes twice the grace, with no gap near it.
        const int StopAt = 100_000;
        const int Piece = 8 * 1024;
        const int Size = StopAt + (16 * Piece);
        var bytes = new byte[Size];
        Random.Shared.NextBytes(bytes);
        var content = new GatedStream(bytes, StopAt, Piece, TimeSpan.FromMilliseconds(250));
        var send = _aliceFiles.SendStreamAsync(
            bob.BoundJid, content, new Si.FileOfferDescription("trickle.bin", Size), new FileSendOptions { ComputeHashes = false }, cancellationToken: Ct);
        var offer = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
        var receive = offer.AcceptAsync(Path.Combine(_root, "in"), cancellationToken: Ct);
        await content.Stopped.WaitAsync(s_cap, Ct);

        Unavailable(bob.BoundJid);
        content.Release();

        var received = await receive.WaitAsync(s_cap, Ct);
        await send.WaitAsync(s_cap, Ct);
        Assert.Equal(TransferMethod.Socks5Direct, received.Method);
        Assert.Equal(Size, received.BytesTransferred);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(received.Path!, Ct));
    }

    /// <summary>Bob, the receiver: every timeout of his far beyond the caps, so only the presence rule can end a receive in time.</summary>
    private async Task<(FileTransferManager Files, XmppClient Client)> ConnectReceiverAsync(bool zeroCopy)
    {
        var files = new FileTransferManager(new FileTransferOptions
        {
            Socks5 = s_loopback with { NegotiationTimeout = TimeSpan.FromMinutes(10) },
            FallbackWait = TimeSpan.FromMinutes(10),
            Socks5InactivityTimeout = TimeSpan.FromMinutes(10),
            ZeroCopyReceive = zeroCopy,
        });
        var client = await _router.ConnectAsync("bob", c => c.AddExtension(files));
        return (files, client);
    }

    /// <summary>Alice's unavailable presence, delivered to Bob alone: her session and her bytestream stay up (as for an invisible sender).</summary>
    private void Unavailable(Jid to) =>
        Assert.True(_router.Deliver(to, new XElement(Stanza.Presence, new XAttribute("from", _alice.BoundJid.ToString()), new XAttribute("type", "unavailable"))));

    /// <summary>
    /// Content that stops at <c>stopAt</c> until <see cref="Release"/>, then hands out the rest <c>chunk</c> bytes at a time,
    /// <c>pace</c> apart (the shape of a slow sender, not a synchronisation).
    /// </summary>
    private sealed class GatedStream(byte[] content, int stopAt, int chunk, TimeSpan pace) : MemoryStream(content, writable: false)
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when a read reached the stop.</summary>
        public Task Stopped => _stopped.Task;

        public void Release() => _released.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position < stopAt)
            {
                return await base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, stopAt - Position)], cancellationToken);
            }

            _stopped.TrySetResult();
            await _released.Task.WaitAsync(cancellationToken);
            if (Position > stopAt && Position < Length)
            {
                await Task.Delay(pace, cancellationToken);
            }

            return await base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
        }
    }
}
