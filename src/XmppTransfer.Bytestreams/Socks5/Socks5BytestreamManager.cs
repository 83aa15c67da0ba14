using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Bytestreams.Socks5.Internal;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// SOCKS5 Bytestreams (XEP-0065 v1.8.2), both roles. Requester: <see cref="ConnectAsync"/> offers our own streamhost
/// (direct candidates first) and proxies (configured or discovered on our server, last), waits for <c>streamhost-used</c>,
/// and activates the proxy when one was chosen. Target: an offer is accepted only for a session announced with
/// <see cref="Expect"/>; the streamhosts (the first <see cref="MaxCandidates"/>) are raced (staggered, each with its own
/// timeout) and the first SOCKS5 success is reported back. Add it with <c>session.AddExtension</c>; it advertises <c>http://jabber.org/protocol/bytestreams</c>.
/// </summary>
public sealed partial class Socks5BytestreamManager : IXmppExtension
{
    /// <summary>
    /// Target: the most streamhosts of one offer we try, in offer order; the rest are ignored. Real senders list a few
    /// (their addresses, then a proxy or two), and a sender must not make us probe thousands of addresses for it. With the
    /// 200 ms stagger all 16 have started within about 3 s, well inside the 30 s negotiation timeout.
    /// </summary>
    internal const int MaxCandidates = 16;

    private readonly ConcurrentDictionary<(string Peer, string Sid), Expectation> _expected = new();

    /// <summary>
    /// The peers whose presence we watch, from the start of a negotiation (requester: our offer; target: theirs) to the
    /// bytestream's dispose: each watch's source (owned by its negotiation, then its bytestream) and the peer's full JID.
    /// </summary>
    private readonly ConcurrentDictionary<CancellationTokenSource, string> _watched = new();
    private XmppSession? _session;
    private ILogger _logger = NullLogger.Instance;

    public Socks5BytestreamManager(Socks5BytestreamOptions? options = null)
    {
        Options = options ?? Socks5BytestreamOptions.Default;
        Options.Validate();
    }

    public Socks5BytestreamOptions Options { get; }

    /// <summary>Target: sessions announced and not yet connected or given up (tests check that none is left behind).</summary>
    internal int ExpectedCount => _expected.Count;

    /// <summary>Presence watches held, both roles (tests check that none is left behind).</summary>
    internal int WatchCount => _watched.Count;

    private XmppSession Session => _session ?? throw new InvalidOperationException("Add the manager to a session first (session.AddExtension).");

    public void Attach(XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _logger = session.LoggerFactory.CreateLogger<Socks5BytestreamManager>();
        session.Disco.AddFeature(Namespaces.Bytestreams);
        session.RegisterIqHandler(BytestreamsQuery.Name, IqType.Set, HandleQuery);
        session.PresenceReceived += HandlePresence;
        _ = EndExpectationsWhenSessionEndsAsync(session);
    }

    /// <summary>
    /// Requester: a target whose full JID goes unavailable ends our negotiation with it at once (it will not answer the
    /// offer, connect, or be activated; otherwise we would wait out the negotiation timeout), and tells its open bytestreams
    /// (<see cref="Socks5Bytestream.PeerUnavailable"/>). Runs on the read loop after every stanza read before the presence,
    /// so an answer (<c>streamhost-used</c>) that came first has completed its request already and wins. Target: a
    /// requester going unavailable during the candidate race ends the race at once (nobody is left to activate a proxy or to
    /// send a byte), closing what it connected; after the race it is only told to the bytestream (the data phase decides).
    /// </summary>
    private void HandlePresence(XElement presence)
    {
        if (_watched.IsEmpty || Stanza.GetUnavailableFullJid(presence) is not { } from)
        {
            return;
        }

        var peer = from.ToString();
        foreach (var (unavailable, watchedPeer) in _watched)
        {
            if (watchedPeer == peer)
            {
                try
                {
                    unavailable.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The negotiation or bytestream ended just now.
                }
            }
        }
    }

    /// <summary>
    /// Target: announces that <paramref name="requester"/> (full JID) will offer streamhosts for <paramref name="sid"/>. Call
    /// it before answering the negotiation so an offer that follows at once is not refused; then <see cref="WaitExpectedAsync"/>.
    /// </summary>
    public Task<Socks5Bytestream> Expect(Jid requester, string sid)
    {
        ArgumentNullException.ThrowIfNull(requester);
        ArgumentException.ThrowIfNullOrEmpty(sid);
        var expectation = new Expectation();
        var key = (requester.ToString(), sid);
        var replaced = _expected.Replace(key, expectation);

        // A sid names one negotiation: an older wait for it can no longer be answered, and ends now rather than waiting on.
        replaced?.End(new BytestreamException(
            BytestreamErrorKind.Cancelled, $"A newer wait for SOCKS5 streamhosts from {requester} with sid '{sid}' replaced this one."));
        if (_session is { Completion.IsCompleted: true })
        {
            // No offer can arrive any more; registered first, so the sweep at the session's end and this check miss nothing between
            // them. Not left behind either: WaitExpectedAsync goes straight to the failed result without it.
            Unregister(key, expectation);
            expectation.End(SessionEnd.Failure(_session, $"before {requester} offered SOCKS5 streamhosts", null));
        }

        return expectation.Result.Task;
    }

    /// <summary>
    /// Our own session ending ends every target-side wait at once: an offer can no longer arrive, and a candidate race still
    /// running could no longer report <c>streamhost-used</c>, so the requester would never use (or activate) what it finds.
    /// Without this, a waiter would sit out <see cref="Socks5BytestreamOptions.NegotiationTimeout"/>. A bytestream already
    /// handed over is a TCP connection of its own and keeps flowing (docs/timeouts.md).
    /// </summary>
    private async Task EndExpectationsWhenSessionEndsAsync(XmppSession session)
    {
        await SessionEnd.WhenEndedAsync(session).ConfigureAwait(false);
        foreach (var (key, expectation) in _expected)
        {
            // Removed as well as ended: no offer can come for it, and the entry would otherwise outlive the session.
            Unregister(key, expectation);
            expectation.End(SessionEnd.Failure(
                session, expectation.OfferArrived.Task.IsCompleted ? $"before the SOCKS5 bytestream from {key.Peer} was set up" : $"before {key.Peer} offered SOCKS5 streamhosts", null));
        }
    }

    /// <summary>
    /// Target: waits for the offer registered with <see cref="Expect"/> (at most <see cref="Socks5BytestreamOptions.NegotiationTimeout"/>)
    /// and then for the candidate race (bounded by the same timeout). Returns the connected bytestream; a
    /// <see cref="BytestreamException"/> when no streamhost worked or the requester never offered.
    /// </summary>
    public async Task<Socks5Bytestream> WaitExpectedAsync(
        Jid requester, string sid, Task<Socks5Bytestream> registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requester);
        ArgumentNullException.ThrowIfNull(registration);
        var key = (requester.ToString(), sid);
        var handedOver = false;
        try
        {
            if (_expected.TryGetValue(key, out var expectation) && expectation.Result.Task == registration)
            {
                try
                {
                    await expectation.OfferArrived.Task.WaitAsync(Options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException ex)
                {
                    throw new BytestreamException(BytestreamErrorKind.Timeout,
                        $"{requester} offered no SOCKS5 streamhosts within {Options.NegotiationTimeout.TotalSeconds:0.#} s.", ex);
                }
            }

            var result = await registration.WaitAsync(cancellationToken).ConfigureAwait(false);
            handedOver = true;
            return result;
        }
        finally
        {
            // Only this registration: one made again for the same sid since (a retry) is its waiter's to remove. Cancelled, so a
            // candidate race of ours still running closes what it finds and answers not-acceptable.
            _expected.TryRemoveRegistration(key, registration, static e => e.Result.Task)?.Result.TrySetCanceled(CancellationToken.None);
            if (!handedOver && registration.IsCompletedSuccessfully)
            {
                // Connected just as the caller gave up: nobody will read it.
                var unread = await registration.ConfigureAwait(false);
                await unread.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Target: stops waiting for an expected offer (a later offer for it gets not-acceptable).</summary>
    public void CancelExpectation(Jid requester, string sid)
    {
        ArgumentNullException.ThrowIfNull(requester);
        if (_expected.TryRemove((requester.ToString(), sid), out var expectation))
        {
            expectation.Result.TrySetCanceled();
        }
    }

    /// <summary>Removes exactly <paramref name="expectation"/>: one registered again for the same sid since is left alone.</summary>
    private void Unregister((string Peer, string Sid) key, Expectation expectation) => _expected.TryRemoveExact(key, expectation);

    private ValueTask<XElement?> HandleQuery(XElement iq, CancellationToken cancellationToken)
    {
        var from = Stanza.GetFrom(iq) ?? throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer has no sender."));
        var query = BytestreamsQuery.Parse(iq.Element(BytestreamsQuery.Name)!);
        if (query.Activate is not null)
        {
            // Activation is for proxies; we are not one.
            throw new XmppStanzaErrorException(StanzaError.ServiceUnavailable());
        }

        if (string.IsNullOrEmpty(query.Sid))
        {
            throw new XmppStanzaErrorException(StanzaError.BadRequest("The bytestreams offer has no sid."));
        }

        var sid = query.Sid;
        if (query.Mode is not null && query.Mode != "tcp")
        {
            BytestreamsLog.S5bOfferRefused(_logger, sid, from.ToString(), $"mode '{query.Mode}'");
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("Only mode='tcp' is supported."));
        }

        if (!_expected.TryGetValue((from.ToString(), sid), out var expectation) || !expectation.TryClaim())
        {
            BytestreamsLog.S5bOfferRefused(_logger, sid, from.ToString(), "no negotiated session");
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("No session was negotiated with this sid."));
        }

        expectation.OfferArrived.TrySetResult();
        var candidates = new List<StreamHost>();
        var ignored = 0;
        foreach (var host in query.StreamHosts)
        {
            if (candidates.Count == MaxCandidates)
            {
                ignored++;
                continue;
            }

            if (Options.LoopbackOnly && !host.IsLoopback)
            {
                BytestreamsLog.S5bCandidateSkipped(_logger, $"{host.Jid} {host.Host}:{host.Port}", "not a loopback address (LoopbackOnly)");
                continue;
            }

            candidates.Add(host);
        }

        if (ignored > 0)
        {
            BytestreamsLog.S5bCandidatesCapped(_logger, sid, from.ToString(), MaxCandidates, ignored);
        }

        if (candidates.Count == 0)
        {
            var none = query.StreamHosts.Count + query.InvalidStreamHosts == 0;
            var reason = none ? "The offer lists no streamhost." : "No usable streamhost.";

            // Without the sender's JID: whoever waits for this session names the sender already ("a.bin from JID: ..."), and a
            // second "JID:" in front of the reason only repeats it.
            expectation.Result.TrySetException(new BytestreamException(
                BytestreamErrorKind.Refused, none ? "The SOCKS5 offer lists no streamhost." : "The SOCKS5 offer lists no usable streamhost."));
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound(reason));
        }

        var local = Session.LocalJid ?? throw new XmppStanzaErrorException(StanzaError.InternalServerError());
        var dstAddr = Socks5Address.IsValid(query.DstAddr) ? query.DstAddr!.ToLowerInvariant() : Socks5Address.Compute(sid, from.ToString(), local.ToString());

        // The requester's presence is watched from here, on the read loop before any later stanza is read: an unavailable
        // presence that follows the offer, during the race or the data phase, shows in the bytestream's PeerUnavailable.
        var unavailable = new CancellationTokenSource();
        _watched[unavailable] = from.ToString();
        return new ValueTask<XElement?>(ConnectAsTargetAsync(expectation, from, sid, candidates, dstAddr, unavailable, cancellationToken));
    }

    private async Task<XElement?> ConnectAsTargetAsync(
        Expectation expectation,
        Jid requester,
        string sid,
        List<StreamHost> candidates,
        string dstAddr,
        CancellationTokenSource unavailable,
        CancellationToken cancellationToken)
    {
        var handedOver = false;
        try
        {
            var answer = await RaceAsTargetAsync(expectation, requester, sid, candidates, dstAddr, unavailable, cancellationToken).ConfigureAwait(false);
            handedOver = true;
            return answer;
        }
        finally
        {
            if (!handedOver)
            {
                Forget(unavailable);
            }
        }
    }

    /// <summary><see cref="ConnectAsTargetAsync"/> proper: on success the bytestream holds <paramref name="unavailable"/> (the requester's watch).</summary>
    private async Task<XElement?> RaceAsTargetAsync(
        Expectation expectation,
        Jid requester,
        string sid,
        List<StreamHost> candidates,
        string dstAddr,
        CancellationTokenSource unavailable,
        CancellationToken cancellationToken)
    {
        CandidateRacer.Winner winner;

        // The requester's unavailable presence ends the race too: the racer closes every connection it made, and no
        // streamhost-used is sent for a connection nobody would activate or write to.
        using var race = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, unavailable.Token);
        try
        {
            winner = await CandidateRacer.RaceAsync(
                candidates,
                dstAddr,
                host => host.Jid == requester ? Options.DirectConnectTimeout : Options.ProxyConnectTimeout,
                Options.Stagger,
                Options.NegotiationTimeout,
                Options.SocketBufferSize,
                race.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (unavailable.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var gone = new BytestreamException(
                BytestreamErrorKind.PeerUnavailable, $"{requester} went offline (its presence) while we connected to its SOCKS5 streamhosts.");
            BytestreamsLog.S5bFailed(_logger, sid, requester.ToString(), gone.Message);
            expectation.Result.TrySetException(gone);

            // Answered all the same (an IQ is always answered); the server drops or bounces it.
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("The requester went offline during the candidate race."));
        }
        catch (BytestreamException ex)
        {
            BytestreamsLog.S5bFailed(_logger, sid, requester.ToString(), ex.Message);
            expectation.Result.TrySetException(ex);
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound("None of the streamhosts could be reached."));
        }
        catch (OperationCanceledException)
        {
            // The handler's token is the session's: cancelled, it means the session ended (the sweep has usually said so already).
            if (_session is { Completion.IsCompleted: true })
            {
                expectation.End(SessionEnd.Failure(_session, $"before the SOCKS5 bytestream from {requester} was set up", null));
            }
            else
            {
                expectation.Result.TrySetCanceled(cancellationToken);
            }

            throw;
        }

        var viaProxy = winner.Host.Jid != requester;
        var bytestream = new Socks5Bytestream(winner.Stream.Socket, winner.Stream, sid, requester, winner.Host.Jid, viaProxy, Options.MappedSendOnLoopback);
        bytestream.WatchPeer(unavailable, () => Forget(unavailable));
        if (!expectation.Result.TrySetResult(bytestream))
        {
            // Its dispose drops the watch too.
            await bytestream.DisposeAsync().ConfigureAwait(false);
            throw new XmppStanzaErrorException(StanzaError.NotAcceptable("The session is no longer expected."));
        }

        BytestreamsLog.S5bEstablished(_logger, sid, requester.ToString(), winner.Host.Jid.ToString(), viaProxy ? "proxy" : "direct");
        return BytestreamsQuery.Used(sid, winner.Host.Jid).ToXml();
    }

    /// <summary>Target-side state of one announced session.</summary>
    private sealed class Expectation
    {
        private int _claimed;

        public TaskCompletionSource OfferArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<Socks5Bytestream> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True for the first offer; a repeated offer for the same sid is refused.</summary>
        public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

        /// <summary>
        /// Fails the session with <paramref name="failure"/> unless it already has its result. The wait for the offer ends too
        /// (as if it had come), so the waiter goes on to the result and gets the failure from there.
        /// </summary>
        public void End(BytestreamException failure)
        {
            Result.TrySetException(failure);
            OfferArrived.TrySetResult();
        }
    }
}
