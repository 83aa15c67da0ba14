using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>
/// In-Band Bytestreams (XEP-0047 v2.0.1), both roles. Outgoing: <see cref="OpenAsync"/> negotiates
/// the block size (halving on resource-constraint) and returns a write stream. Incoming: only an
/// open for a session the application announced with <see cref="ExpectAsync"/> (for example after
/// accepting an SI offer) is accepted; everything else gets not-acceptable.
/// </summary>
public sealed class InBandBytestreamManager : IXmppExtension
{
    private readonly ConcurrentDictionary<(string Peer, string Sid), Stream> _sessions = new();
    private readonly ConcurrentDictionary<(string Peer, string Sid), TaskCompletionSource<IbbReceiveStream>> _expected = new();
    private XmppSession? _session;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public InBandBytestreamManager(InBandBytestreamOptions? options = null)
    {
        Options = options ?? InBandBytestreamOptions.Default;
        Options.Validate();
    }

    public InBandBytestreamOptions Options { get; }

    /// <summary>Opens announced and not yet arrived or given up (tests check that none is left behind).</summary>
    internal int ExpectedCount => _expected.Count;

    /// <summary>Bytestreams open in either direction (tests check that none is left behind).</summary>
    internal int OpenCount => _sessions.Count;

    private XmppSession Session => _session ?? throw new InvalidOperationException("Add the manager to a session first (session.AddExtension).");

    public void Attach(XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _logger = session.LoggerFactory.CreateLogger<InBandBytestreamManager>();
        session.Disco.AddFeature(Namespaces.Ibb);
        session.RegisterIqHandler(IbbOpen.Name, IqType.Set, HandleOpen);
        session.RegisterIqHandler(IbbData.Name, IqType.Set, HandleData);
        session.RegisterIqHandler(IbbClose.Name, IqType.Set, HandleClose);
        session.MessageReceived += HandleMessage;
        session.PresenceReceived += HandlePresence;
        _ = EndAllWhenSessionEndsAsync(session);
    }

    /// <summary>
    /// Opens a bytestream to <paramref name="peer"/> (a full JID) for <paramref name="sid"/>. On
    /// resource-constraint the block size is halved and retried (down to the minimum). The stream's window is
    /// <see cref="InBandBytestreamOptions.Window"/> bounded by <see cref="InBandBytestreamOptions.MaxInFlightBytes"/>
    /// for the negotiated block size.
    /// </summary>
    public async Task<IbbSendStream> OpenAsync(Jid peer, string sid, InBandBytestreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(sid);
        var settings = options ?? Options;
        settings.Validate();
        var blockSize = settings.BlockSize;
        for (var attempt = 0; ; attempt++)
        {
            var open = new IbbOpen(sid, blockSize, settings.Stanza);
            try
            {
                await Session.SendIqAsync(Stanza.MakeIq(IqType.Set, peer, open.ToXml()), settings.BlockTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (XmppStanzaErrorException ex) when (ex.Error.Condition == "resource-constraint" && attempt < settings.OpenRetries && blockSize / 2 >= settings.MinBlockSize)
            {
                BytestreamsLog.IbbSmallerBlocks(_logger, sid, peer.ToString(), blockSize, blockSize / 2);
                blockSize /= 2;
                continue;
            }
            catch (XmppStanzaErrorException ex)
            {
                throw new BytestreamException(BytestreamErrorKind.Refused, $"{peer} refused the in-band bytestream: {ex.Error}.", ex);
            }
            catch (XmppException ex) when (ex.Kind == XmppErrorKind.Timeout)
            {
                throw new BytestreamException(BytestreamErrorKind.Timeout, $"{peer} did not answer the in-band bytestream open.", ex);
            }
            catch (XmppException ex) when (IsSessionEnd(ex))
            {
                throw SessionEnded($"before {peer} answered the in-band bytestream open", ex);
            }

            // The window in bytes follows the block size the receiver agreed to, which may be smaller than the one we proposed.
            var window = settings.EffectiveWindow(blockSize);
            var stream = new IbbSendStream(Session, this, peer, open, window, settings.BlockTimeout);
            _sessions[(peer.ToString(), sid)] = stream;
            if (Session.Completion.IsCompleted)
            {
                // Ended between the answer and the registration above: the sweep of EndAllWhenSessionEndsAsync may have missed it.
                stream.OnSessionEnded(SessionEnded($"before the in-band bytestream to {peer} was complete", null));
            }

            BytestreamsLog.IbbOpened(_logger, sid, peer.ToString(), blockSize, open.Stanza.ToString(), window);
            return stream;
        }
    }

    /// <summary>
    /// Announces that <paramref name="peer"/> will open <paramref name="sid"/> and waits for that open
    /// (at most <see cref="InBandBytestreamOptions.OpenTimeout"/>). Returns the read stream.
    /// </summary>
    public async Task<IbbReceiveStream> ExpectAsync(Jid peer, string sid, CancellationToken cancellationToken = default)
    {
        var registration = Expect(peer, sid);
        return await WaitExpectedAsync(peer, sid, registration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Registers an expected open without waiting (call before answering the negotiation, so no open is missed).</summary>
    public Task<IbbReceiveStream> Expect(Jid peer, string sid)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(sid);
        var tcs = new TaskCompletionSource<IbbReceiveStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        var key = (peer.ToString(), sid);
        var replaced = _expected.Replace(key, tcs);

        // A sid names one bytestream: an older wait for it can no longer be opened, and ends now rather than waiting on.
        replaced?.TrySetException(new BytestreamException(
            BytestreamErrorKind.Cancelled, $"A newer wait for an in-band bytestream from {peer} with sid '{sid}' replaced this one."));
        if (_session is { Completion.IsCompleted: true })
        {
            // No open can arrive any more; registered first, so the sweep at the session's end and this check miss nothing between
            // them. Not left behind either: a caller that never waits would otherwise leave it in the table for good.
            Unregister(key, tcs);
            tcs.TrySetException(SessionEnded($"before {peer} opened the in-band bytestream", null));
        }

        return tcs.Task;
    }

    /// <summary>Waits for an open registered with <see cref="Expect"/>.</summary>
    public async Task<IbbReceiveStream> WaitExpectedAsync(Jid peer, string sid, Task<IbbReceiveStream> registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(registration);
        try
        {
            return await registration.WaitAsync(Options.OpenTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new BytestreamException(BytestreamErrorKind.Timeout, $"{peer} did not open the in-band bytestream within {Options.OpenTimeout.TotalSeconds:0.#} s.", ex);
        }
        finally
        {
            // Only this registration: one made again for the same sid since (a retry) is its waiter's to remove.
            _expected.TryRemoveRegistration((peer.ToString(), sid), registration, static tcs => tcs.Task);
        }
    }

    private void Unregister((string Peer, string Sid) key, TaskCompletionSource<IbbReceiveStream> expectation) => _expected.TryRemoveExact(key, expectation);

    /// <summary>Stops waiting for an expected open.</summary>
    public void CancelExpectation(Jid peer, string sid)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_expected.TryRemove((peer.ToString(), sid), out var tcs))
        {
            tcs.TrySetCanceled();
        }
    }

    internal void Forget(Jid peer, string sid, Stream stream) =>
        _sessions.TryRemove(new KeyValuePair<(string, string), Stream>((peer.ToString(), sid), stream));

    internal void ReportReceiveFailure(Jid peer, string sid, string reason) => BytestreamsLog.IbbReceiveFailed(_logger, sid, peer.ToString(), reason);

    /// <summary>Sends a close for <paramref name="sid"/> and waits briefly; failures are ignored (best effort).</summary>
    internal async Task CloseTowardsPeerAsync(Jid peer, string sid)
    {
        var session = _session;
        if (session is null || !session.IsConnected)
        {
            return;
        }

        try
        {
            await session.SendIqAsync(Stanza.MakeIq(IqType.Set, peer, IbbClose.Create(sid)), TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        }
        catch (XmppException)
        {
            // The peer may have closed first or gone away; either way the bytestream is over.
        }
    }

    /// <summary>An error of a request or send that says our own stream is gone (not a peer's error, not a timeout).</summary>
    internal bool IsSessionEnd(XmppException error) => SessionEnd.Is(_session, error);

    /// <summary>Why a bytestream of this session ended with it, <paramref name="when"/> in words (see <see cref="SessionEnd.Failure"/>).</summary>
    internal BytestreamException SessionEnded(string when, Exception? inner) => SessionEnd.Failure(_session, when, inner);

    /// <summary>
    /// Our own session ending (a stream error, a dropped socket, our close) ends every in-band bytestream of it at once: no
    /// block, open or close can be sent or answered any more, yet a receiver would wait out its inactivity timeout (or, before
    /// the open, the open timeout) and a sender could wait on a stream that cannot move. Each gets a
    /// <see cref="BytestreamErrorKind.Closed"/> failure; nothing is sent towards the peer (there is no stream to send on).
    /// </summary>
    private async Task EndAllWhenSessionEndsAsync(XmppSession session)
    {
        await SessionEnd.WhenEndedAsync(session).ConfigureAwait(false);
        foreach (var (key, expectation) in _expected)
        {
            // Removed as well as failed: no open can come for it, and the entry would otherwise outlive the session (the
            // exact pair, so an expectation registered again meanwhile is left to its own check in Expect).
            Unregister(key, expectation);
            expectation.TrySetException(SessionEnded($"before {key.Peer} opened the in-band bytestream", null));
        }

        foreach (var (key, stream) in _sessions)
        {
            _sessions.TryRemoveExact(key, stream);
            switch (stream)
            {
                case IbbReceiveStream receiving:
                    receiving.OnSessionEnded(SessionEnded($"before the in-band bytestream from {key.Peer} was complete", null));
                    break;
                case IbbSendStream sending:
                    sending.OnSessionEnded(SessionEnded($"before the in-band bytestream to {key.Peer} was complete", null));
                    break;
            }
        }
    }

    private ValueTask<XElement?> HandleOpen(XElement iq, CancellationToken cancellationToken)
    {
        var from = Stanza.GetFrom(iq) ?? throw new XmppStanzaErrorException(StanzaError.BadRequest("The open has no sender."));
        var open = IbbOpen.Parse(iq.Element(IbbOpen.Name)!);
        var key = (from.ToString(), open.Sid);
        if (!_expected.TryGetValue(key, out var expectation))
        {
            BytestreamsLog.IbbOpenRefused(_logger, open.Sid, from.ToString(), "no negotiated session");
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("No session was negotiated with this sid."));
        }

        if (open.BlockSize > Options.MaxAcceptedBlockSize)
        {
            throw new XmppStanzaErrorException(StanzaError.ResourceConstraint($"Blocks up to {Options.MaxAcceptedBlockSize} bytes, please."));
        }

        if (_sessions.ContainsKey(key))
        {
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("This sid is already open."));
        }

        var stream = new IbbReceiveStream(this, from, open, Options.InactivityTimeout, Options.MaxBufferedBytes);
        _sessions[key] = stream;
        _expected.TryRemove(key, out _);
        if (Session.Completion.IsCompleted)
        {
            // The stream failed (our write side) while this open was handled: the sweep may have run before the line above.
            stream.OnSessionEnded(SessionEnded($"before the in-band bytestream from {from} was complete", null));
        }

        BytestreamsLog.IbbAccepted(_logger, open.Sid, from.ToString(), open.BlockSize, open.Stanza.ToString(), Options.MaxBufferedBytes);
        expectation.TrySetResult(stream);
        return ValueTask.FromResult<XElement?>(null);
    }

    private ValueTask<XElement?> HandleData(XElement iq, CancellationToken cancellationToken)
    {
        var data = iq.Element(IbbData.Name)!;
        var stream = Find(Stanza.GetFrom(iq), (string?)data.Attribute("sid")) as IbbReceiveStream
            ?? throw new XmppStanzaErrorException(StanzaError.ItemNotFound("No open bytestream with this sid."));
        return stream.OnData(data, acknowledged: true);
    }

    private ValueTask<XElement?> HandleClose(XElement iq, CancellationToken cancellationToken)
    {
        var from = Stanza.GetFrom(iq);
        var sid = (string?)iq.Element(IbbClose.Name)!.Attribute("sid");
        var stream = Find(from, sid) ?? throw new XmppStanzaErrorException(StanzaError.ItemNotFound("No open bytestream with this sid."));
        _sessions.TryRemove((from!.ToString(), sid!), out _);
        BytestreamsLog.IbbClosedByPeer(_logger, sid!, from.ToString());
        switch (stream)
        {
            case IbbReceiveStream receive:
                receive.OnClosedByPeer();
                break;
            case IbbSendStream send:
                send.OnClosedByPeer();
                break;
        }

        return ValueTask.FromResult<XElement?>(null);
    }

    /// <summary>
    /// A peer that goes offline ends its bytestreams at once: a sender that vanished without a close would otherwise hold
    /// the receiver until the inactivity timeout (or, before its open, the open timeout), and a sender would wait out the
    /// block timeout for answers a vanished receiver will never give. Only the full JID's unavailable presence counts:
    /// another resource of the account going away says nothing about this one.
    /// </summary>
    private void HandlePresence(XElement presence)
    {
        if (Stanza.GetUnavailableFullJid(presence) is not { } from)
        {
            return;
        }

        var peer = from.ToString();
        foreach (var (key, expectation) in _expected)
        {
            if (key.Peer == peer)
            {
                // Removed too: a late open for it must be refused, not make a stream nobody waits for.
                Unregister(key, expectation);
                expectation.TrySetException(new BytestreamException(BytestreamErrorKind.Closed, $"{from} went offline before opening the in-band bytestream."));
            }
        }

        foreach (var (key, stream) in _sessions)
        {
            if (key.Peer != peer)
            {
                continue;
            }

            switch (stream)
            {
                case IbbReceiveStream receiving:
                    receiving.OnPeerUnavailable();
                    break;
                case IbbSendStream sending:
                    sending.OnPeerUnavailable();
                    break;
            }
        }
    }

    private void HandleMessage(XElement message)
    {
        var data = message.Element(IbbData.Name);
        if (data is null || Find(Stanza.GetFrom(message), (string?)data.Attribute("sid")) is not IbbReceiveStream stream)
        {
            return;
        }

        try
        {
            // Unacknowledged data completes synchronously: there is no answer to wait for.
            var accepted = stream.OnData(data, acknowledged: false);
            if (!accepted.IsCompleted)
            {
                _ = accepted.AsTask();
            }
        }
        catch (XmppStanzaErrorException)
        {
            // Message-mode data has no reply; the stream already failed and closed towards the sender.
        }
    }

    private Stream? Find(Jid? from, string? sid) =>
        from is null || sid is null ? null : _sessions.GetValueOrDefault((from.ToString(), sid));
}
