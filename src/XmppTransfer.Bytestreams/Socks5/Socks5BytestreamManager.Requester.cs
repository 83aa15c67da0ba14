using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5.Internal;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Socks5;

public sealed partial class Socks5BytestreamManager
{
    private readonly Lock _listenerGate = new();

    /// <summary>Requester: the (target, sid) pairs with a negotiation running, from its start to its end (not its bytestream's).</summary>
    private readonly ConcurrentDictionary<(string Target, string Sid), byte> _negotiating = new();
    private DirectListener? _listener;
    private int _listenerUsers;

    /// <summary>
    /// Requester: negotiates a bytestream with <paramref name="target"/> (a full JID) for <paramref name="sid"/>. Offers our
    /// direct candidates first and proxies last, waits for <c>streamhost-used</c> (at most
    /// <see cref="Socks5BytestreamOptions.NegotiationTimeout"/>), and for a proxy connects to it with the same DST.ADDR and
    /// activates it (<see cref="Socks5BytestreamOptions.ActivationTimeout"/>) before returning. Every failure is a
    /// <see cref="BytestreamException"/> (callers fall back to IBB); cancelling throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<Socks5Bytestream> ConnectAsync(Jid target, string sid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(sid);
        _ = Session;

        // A sid names one negotiation per pair (XEP-0065: the same DST.ADDR, which our listener can match to one offer only,
        // and a target that takes one offer per announced session). A second one while the first runs is refused before
        // anything is sent, so the first goes on untouched; a retry after the first ended is welcome.
        var pair = (target.ToString(), sid);
        if (!_negotiating.TryAdd(pair, 0))
        {
            var clash = new BytestreamException(BytestreamErrorKind.Refused,
                $"A SOCKS5 negotiation with {target} for sid '{sid}' is already running; a sid names one negotiation per pair, so this one was not started.");
            BytestreamsLog.S5bFailed(_logger, sid, target.ToString(), clash.Message);
            throw clash;
        }

        try
        {
            return await ConnectOnceAsync(target, sid, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _negotiating.TryRemove(pair, out _);
        }
    }

    /// <summary><see cref="ConnectAsync"/> for a pair and sid no other negotiation of ours holds.</summary>
    private async Task<Socks5Bytestream> ConnectOnceAsync(Jid target, string sid, CancellationToken cancellationToken)
    {
        // The target's unavailable presence cancels this (HandlePresence); on success the bytestream keeps the watch.
        // Keyed by the source itself, not by target and sid: a negotiation after an earlier one for the same pair (a caller's
        // retry, its bytestream maybe still open) must neither replace that one's watch (which would then never hear the
        // presence, nor be disposed) nor lose its own.
        var unavailable = new CancellationTokenSource();
        _watched[unavailable] = target.ToString();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, unavailable.Token);
        var handedOver = false;
        try
        {
            var bytestream = await NegotiateAsync(target, sid, linked.Token, cancellationToken).ConfigureAwait(false);
            bytestream.WatchPeer(unavailable, () => Forget(unavailable));
            handedOver = true;
            return bytestream;
        }
        catch (OperationCanceledException ex) when (unavailable.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var gone = new BytestreamException(
                BytestreamErrorKind.Closed, $"{target} went offline (its presence) before the SOCKS5 bytestream was set up: no streamhost-used, connection or activation came.", ex);
            BytestreamsLog.S5bFailed(_logger, sid, target.ToString(), gone.Message);
            throw gone;
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested && ex.CancellationToken != cancellationToken)
        {
            // Cancelled through the linked token: the caller's token is the one to report.
            throw new OperationCanceledException(ex.Message, ex, cancellationToken);
        }
        finally
        {
            if (!handedOver)
            {
                Forget(unavailable);
            }
        }
    }

    private void Forget(CancellationTokenSource unavailable)
    {
        if (_watched.TryRemove(unavailable, out _))
        {
            unavailable.Dispose();
        }
    }

    /// <summary>
    /// <see cref="ConnectAsync"/> proper; <paramref name="cancellationToken"/> also fires when the target goes unavailable,
    /// <paramref name="callerToken"/> only when the caller cancels. The target's answer naming the streamhost it used decides
    /// the race with its unavailable presence (HandlePresence): from then on only the caller's token applies, so the
    /// connection it already made is taken (direct) or activated (proxy) and the bytestream returned; a target gone by then
    /// shows in its <see cref="Socks5Bytestream.PeerUnavailable"/>, which the data phase handles.
    /// </summary>
    private async Task<Socks5Bytestream> NegotiateAsync(Jid target, string sid, CancellationToken cancellationToken, CancellationToken callerToken)
    {
        var session = Session;
        var requester = session.LocalJid ?? throw new InvalidOperationException("The session is not connected.");
        var dstAddr = Socks5Address.Compute(sid, requester.ToString(), target.ToString());
        List<StreamHost> hosts = [];
        DirectListener.Registration? direct = null;
        BytestreamException? listenFailure = null;
        var leased = false;
        try
        {
            if (Options.DirectCandidates)
            {
                var plan = PlanDirectCandidates();
                if (plan.Hosts.Count > 0)
                {
                    DirectListener? listener = null;
                    try
                    {
                        listener = AcquireListener(plan.Bind);
                    }
                    catch (BytestreamException ex)
                    {
                        // Our port is taken (another program, another xft with the same port): the proxies can still carry the
                        // bytes, so they are offered alone, and the failure is told (logged, and raised for an application that
                        // words it for its user) instead of costing the whole SOCKS5 attempt in silence.
                        listenFailure = ex;
                        BytestreamsLog.S5bListenFailed(_logger, sid, ex.Message);
                        RaiseDirectListenFailed(ex);
                    }

                    if (listener is not null)
                    {
                        leased = true;
                        direct = listener.Register(dstAddr);
                        hosts.AddRange(DirectStreamHosts(requester, plan, listener));
                    }
                }
            }

            hosts = FitCandidates(hosts, await GetProxiesAsync(cancellationToken).ConfigureAwait(false), Options.ExternalHost);
            if (hosts.Count == 0)
            {
                await TellNoStreamHostAsync(session, target, sid, cancellationToken).ConfigureAwait(false);

                // With no proxy either, the listener's failure is what left us nothing to offer.
                if (listenFailure is not null)
                {
                    throw listenFailure;
                }

                // Configured proxies replace discovery (GetProxiesAsync): with any configured, none of them answered with an
                // address we may use; "no proxy is found" would send the user looking for a proxy they already gave.
                throw new BytestreamException(BytestreamErrorKind.Refused, Options.Proxies.Count > 0
                    ? $"No streamhost to offer: direct candidates are off or unusable and the configured proxy ({string.Join(", ", Options.Proxies)}) did not answer with a usable address."
                    : "No streamhost to offer: direct candidates are off or unusable and no proxy is configured or found.");
            }

            BytestreamsLog.S5bOffering(_logger, sid, hosts.Count, target.ToString(), string.Join(", ", hosts.Select(h => $"{h.Jid} {h.Host}:{h.Port}")));
            var used = await OfferAsync(session, target, sid, hosts, cancellationToken).ConfigureAwait(false);

            // The answer came first: from here on callerToken alone, as the presence that may have cancelled
            // cancellationToken since does not undo it.
            if (used == requester && direct is not null)
            {
                NetworkStream stream;
                try
                {
                    // The target answers only after our SOCKS5 reply, which is sent after the registration completed.
                    await direct.Connected.WaitAsync(Options.DirectConnectTimeout, callerToken).ConfigureAwait(false);
                    stream = direct.Take();
                }
                catch (Exception ex) when (ex is TimeoutException or BytestreamException or TaskCanceledException && !callerToken.IsCancellationRequested)
                {
                    throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                        $"{target} reported using our streamhost but no matching SOCKS5 connection arrived.", ex);
                }

                BytestreamsLog.S5bEstablished(_logger, sid, target.ToString(), used.ToString(), "direct");
                return new Socks5Bytestream(stream.Socket, stream, sid, target, requester, viaProxy: false, Options.MappedSendOnLoopback);
            }

            var proxies = hosts.Where(h => h.Jid == used && h.Jid != requester).ToList();
            if (proxies.Count == 0)
            {
                throw new BytestreamException(BytestreamErrorKind.ProtocolViolation, $"{target} reported using streamhost {used}, which we never offered.");
            }

            var mediated = await ActivateProxyAsync(session, proxies, target, sid, dstAddr, callerToken).ConfigureAwait(false);
            BytestreamsLog.S5bEstablished(_logger, sid, target.ToString(), used.ToString(), "proxy");
            return mediated;
        }
        catch (BytestreamException ex)
        {
            BytestreamsLog.S5bFailed(_logger, sid, target.ToString(), ex.Message);
            throw;
        }
        finally
        {
            direct?.Dispose();
            if (leased)
            {
                await ReleaseListenerAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// How long <see cref="TellNoStreamHostAsync"/> waits for the target's answer: it is only a courtesy, and the target
    /// answers at once (it has nothing to connect to).
    /// </summary>
    private static readonly TimeSpan s_noStreamHostNoticeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// We have no streamhost to offer: the target, which accepted SOCKS5, would otherwise wait out its negotiation
    /// timeout (30 s) for an offer that never comes, as XEP-0065 has no abort. The nearest interoperable signal is the
    /// offer itself with no streamhost (the schema allows none): a target has nothing to try and answers with an error
    /// (item-not-found, as for "none reachable"), which ends its wait. The answer is only waited for, briefly; whatever it
    /// is, S5B has failed here.
    /// </summary>
    private static async Task TellNoStreamHostAsync(XmppSession session, Jid target, string sid, CancellationToken cancellationToken)
    {
        try
        {
            var offer = BytestreamsQuery.Offer(sid, []).ToXml();
            await session.SendIqAsync(Stanza.MakeIq(IqType.Set, target, offer), s_noStreamHostNoticeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppException ex) when (ex is not BytestreamException)
        {
            // The expected error answer, or none in time: the target knows, or will time out as it would have anyway.
        }
    }

    private async Task<Jid> OfferAsync(XmppSession session, Jid target, string sid, IReadOnlyList<StreamHost> hosts, CancellationToken cancellationToken)
    {
        XElement answer;
        try
        {
            var offer = BytestreamsQuery.Offer(sid, hosts).ToXml();
            answer = await session.SendIqAsync(Stanza.MakeIq(IqType.Set, target, offer), Options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException ex)
        {
            // item-not-found is the spec's "none reachable"; Psi says remote-server-not-found: any error means S5B failed.
            throw new BytestreamException(BytestreamErrorKind.Refused, $"{target} could not use any offered streamhost ({ex.Error.Condition}).", ex);
        }
        catch (XmppException ex) when (ex is not BytestreamException)
        {
            throw new BytestreamException(
                ex.Kind == XmppErrorKind.Timeout ? BytestreamErrorKind.Timeout : BytestreamErrorKind.Closed,
                $"{target} did not answer the SOCKS5 offer: {ex.Message}",
                ex);
        }

        var query = answer.Element(BytestreamsQuery.Name);
        return (query is null ? null : BytestreamsQuery.Parse(query).StreamHostUsed)
            ?? throw new BytestreamException(BytestreamErrorKind.ProtocolViolation, $"{target} accepted the SOCKS5 offer without naming a streamhost-used.");
    }

    private async Task<Socks5Bytestream> ActivateProxyAsync(
        XmppSession session, List<StreamHost> proxies, Jid target, string sid, string dstAddr, CancellationToken cancellationToken)
    {
        NetworkStream? stream = null;
        BytestreamException? failure = null;
        foreach (var proxy in proxies)
        {
            try
            {
                stream = await Socks5Dialer.ConnectAsync(proxy.Host, proxy.Port, dstAddr, Options.ProxyConnectTimeout, Options.SocketBufferSize, cancellationToken)
                    .ConfigureAwait(false);
                break;
            }
            catch (BytestreamException ex)
            {
                failure = ex;
            }
        }

        if (stream is null)
        {
            throw new BytestreamException(failure!.ErrorKind, $"Cannot reach the proxy {proxies[0].Jid} chosen by {target}: {failure.Message}", failure);
        }

        try
        {
            // Only after our own SOCKS5 success (PROTOCOLS.md §9.1): both legs are up, so the proxy can pair them.
            var activate = BytestreamsQuery.Activation(sid, target).ToXml();
            await session.SendIqAsync(Stanza.MakeIq(IqType.Set, proxies[0].Jid, activate), Options.ActivationTimeout, cancellationToken).ConfigureAwait(false);
            var bytestream = new Socks5Bytestream(stream.Socket, stream, sid, target, proxies[0].Jid, viaProxy: true, Options.MappedSendOnLoopback);
            stream = null;
            return bytestream;
        }
        catch (XmppStanzaErrorException ex)
        {
            throw new BytestreamException(BytestreamErrorKind.Refused, $"The proxy {proxies[0].Jid} refused the activation ({ex.Error.Condition}).", ex);
        }
        catch (XmppException ex) when (ex is not BytestreamException)
        {
            throw new BytestreamException(
                ex.Kind == XmppErrorKind.Timeout ? BytestreamErrorKind.Timeout : BytestreamErrorKind.Closed,
                $"The proxy {proxies[0].Jid} did not confirm the activation: {ex.Message}",
                ex);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The hosts to offer as ourselves and the addresses to bind, after <see cref="Socks5BytestreamOptions.LoopbackOnly"/>.</summary>
    internal DirectPlan PlanDirectCandidates()
    {
        var hosts = new List<string>();
        IEnumerable<string> configured = Options.Hosts.Count > 0 ? Options.Hosts : Options.LoopbackOnly ? ["127.0.0.1"] : DefaultHosts();
        foreach (var host in configured)
        {
            if (Options.LoopbackOnly && !(IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)))
            {
                BytestreamsLog.S5bCandidateSkipped(_logger, host, "not a loopback address (LoopbackOnly)");
                continue;
            }

            if (!hosts.Contains(host, StringComparer.OrdinalIgnoreCase))
            {
                hosts.Add(host);
            }
        }

        var external = Options.ExternalHost;
        if (external is not null && Options.LoopbackOnly && !(IPAddress.TryParse(external, out var ext) && IPAddress.IsLoopback(ext)))
        {
            BytestreamsLog.S5bCandidateSkipped(_logger, external, "not a loopback address (LoopbackOnly)");
            external = null;
        }

        var literals = hosts.Select(h => IPAddress.TryParse(h, out var a) ? a : null).ToList();
        IReadOnlyList<IPAddress> bind = Options.Hosts.Count > 0 && external is null && literals.All(a => a is not null)
            ? [.. literals.Distinct().Cast<IPAddress>()]
            : [Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any];
        if (Options.LoopbackOnly)
        {
            bind = [.. hosts.Select(IPAddress.Parse).Distinct()];
        }

        if (external is not null && !hosts.Contains(external, StringComparer.OrdinalIgnoreCase))
        {
            hosts.Add(external);
        }

        return new DirectPlan(hosts, bind);
    }

    /// <summary>
    /// Our direct candidates, then the proxies, at most <see cref="MaxCandidates"/> in all: a careful target (ours too)
    /// tries only the first ones, so a machine with many interfaces (container bridges, VPNs) must not push the proxies,
    /// or the configured external address (<paramref name="external"/>, wherever it stands), out of the offer. Interface
    /// addresses past the room left are dropped; direct candidates keep at least half the places, so only proxies past
    /// the other half are dropped (more than 8 of them, with many interfaces).
    /// </summary>
    internal static List<StreamHost> FitCandidates(IReadOnlyList<StreamHost> direct, IReadOnlyList<StreamHost> proxies, string? external)
    {
        var proxyCount = Math.Min(proxies.Count, MaxCandidates - Math.Min(direct.Count, MaxCandidates / 2));
        var room = MaxCandidates - proxyCount;
        List<StreamHost> hosts;
        if (direct.Count <= room)
        {
            hosts = [.. direct];
        }
        else
        {
            var kept = external is null ? null : direct.FirstOrDefault(h => string.Equals(h.Host, external, StringComparison.OrdinalIgnoreCase));
            hosts = [.. direct.Where(h => h != kept).Take(kept is null ? room : room - 1)];
            if (kept is not null)
            {
                // In its place in the offer order, or last if that place was dropped.
                var at = direct.TakeWhile(h => h != kept).Count();
                hosts.Insert(Math.Min(at, hosts.Count), kept);
            }
        }

        hosts.AddRange(proxies.Take(proxyCount));
        return hosts;
    }

    private static IEnumerable<StreamHost> DirectStreamHosts(Jid requester, DirectPlan plan, DirectListener listener)
    {
        foreach (var host in plan.Hosts)
        {
            var port = listener.EndPoints[0].Port;
            if (IPAddress.TryParse(host, out var address))
            {
                port = listener.EndPoints.FirstOrDefault(e => e.Address.Equals(address))?.Port ?? port;
            }

            yield return new StreamHost(requester, host, port);
        }
    }

    /// <summary>Every unicast address of the interfaces that are up, except loopback and link-local, IPv4 first.</summary>
    private static List<string> DefaultHosts()
    {
        var v4 = new List<string>();
        var v6 = new List<string>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var address = unicast.Address;
                if (IPAddress.IsLoopback(address))
                {
                    continue;
                }

                if (address.AddressFamily == AddressFamily.InterNetwork && !(address.GetAddressBytes() is [169, 254, ..]))
                {
                    v4.Add(address.ToString());
                }
                else if (address.AddressFamily == AddressFamily.InterNetworkV6 && Socket.OSSupportsIPv6
                    && !address.IsIPv6LinkLocal && !address.IsIPv6Multicast && !address.IsIPv4MappedToIPv6)
                {
                    v6.Add(address.ToString());
                }
            }
        }

        return [.. v4, .. v6];
    }

    /// <summary>
    /// Raised when our direct streamhost cannot listen (its port range is taken): <see cref="ConnectAsync"/> then offers
    /// the proxies alone, and fails with the same exception only when there is none. Raised on the caller of
    /// <see cref="ConnectAsync"/>, once per attempt; a handler must return quickly, and one that throws is logged and ignored.
    /// </summary>
    public event Action<BytestreamException>? DirectListenFailed;

    private void RaiseDirectListenFailed(BytestreamException failure)
    {
        if (DirectListenFailed is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Action<BytestreamException>>())
        {
            try
            {
                handler(failure);
            }
            catch (Exception ex)
            {
                BytestreamsLog.S5bListenHandlerFailed(_logger, ex);
            }
        }
    }

    private DirectListener AcquireListener(IReadOnlyList<IPAddress> bind)
    {
        lock (_listenerGate)
        {
            _listener ??= DirectListener.Start(bind, Options, _logger);
            _listenerUsers++;
            return _listener;
        }
    }

    private async Task ReleaseListenerAsync()
    {
        DirectListener? closing = null;
        lock (_listenerGate)
        {
            if (--_listenerUsers == 0)
            {
                closing = _listener;
                _listener = null;
            }
        }

        if (closing is not null)
        {
            await closing.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Hosts we offer as ourselves, in order, and the local addresses the listener binds.</summary>
    internal sealed record DirectPlan(IReadOnlyList<string> Hosts, IReadOnlyList<IPAddress> Bind);
}
