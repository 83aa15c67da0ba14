using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Socks5;

public sealed partial class Socks5BytestreamManager
{
    private readonly Lock _proxyGate = new();
    private ProxyLookup? _proxies;

    /// <summary>
    /// The proxies' streamhosts, found once per account (PROTOCOLS.md §2): configured JIDs (address query only) or, when none
    /// are configured and discovery is on, disco#items of our server, disco#info of each item (at most
    /// <see cref="Socks5BytestreamOptions.MaxDiscoveryItems"/>, in parallel) for identity proxy/bytestreams, then the address
    /// query. Every request is bounded by <see cref="Socks5BytestreamOptions.DiscoveryTimeout"/>; an empty result is not cached.
    /// </summary>
    internal async Task<IReadOnlyList<StreamHost>> GetProxiesAsync(CancellationToken cancellationToken)
    {
        if (Options.Proxies.Count == 0 && !Options.DiscoverProxies)
        {
            return [];
        }

        var session = Session;
        Task<IReadOnlyList<StreamHost>> lookup;
        lock (_proxyGate)
        {
            var account = session.LocalJid?.Bare;
            if (_proxies is null || _proxies.Account != account || _proxies.Hosts.IsFaulted || _proxies.Hosts.IsCanceled
                || (_proxies.Hosts.IsCompletedSuccessfully && _proxies.FoundNone))
            {
                // Not tied to one caller's token: a shared lookup must not fail because its first user gave up.
                var next = new ProxyLookup(account);
                next.Hosts = FindProxiesAsync(session, next, session.SessionToken);
                _proxies = next;
            }

            lookup = _proxies.Hosts;
        }

        var found = await lookup.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!Options.LoopbackOnly)
        {
            return found;
        }

        var usable = new List<StreamHost>();
        foreach (var host in found)
        {
            if (host.IsLoopback)
            {
                usable.Add(host);
            }
            else
            {
                BytestreamsLog.S5bProxySkipped(_logger, $"{host.Jid} {host.Host}:{host.Port}", "not a loopback address (LoopbackOnly)");
            }
        }

        return usable;
    }

    private async Task<IReadOnlyList<StreamHost>> FindProxiesAsync(XmppSession session, ProxyLookup lookup, CancellationToken cancellationToken)
    {
        IReadOnlyList<Jid> candidates;
        if (Options.Proxies.Count > 0)
        {
            candidates = Options.Proxies;
        }
        else
        {
            var domain = Jid.Create(null, (session.LocalJid ?? throw new InvalidOperationException("The session is not connected.")).Domain);
            var items = await BoundedAsync(ct => session.Disco.GetItemsAsync(domain, cancellationToken: ct), domain, "disco#items", cancellationToken)
                .ConfigureAwait(false) ?? [];
            var checks = items.Take(Options.MaxDiscoveryItems).Select(async item =>
            {
                var info = await BoundedAsync(ct => session.Disco.GetInfoAsync(item.Jid, item.Node, ct), item.Jid, "disco#info", cancellationToken)
                    .ConfigureAwait(false);
                return info is not null && info.HasIdentity("proxy", "bytestreams") ? item.Jid : null;
            });
            candidates = [.. (await Task.WhenAll(checks).ConfigureAwait(false)).OfType<Jid>().Distinct()];
        }

        var answers = await Task.WhenAll(candidates.Select(proxy => QueryAddressAsync(session, proxy, cancellationToken))).ConfigureAwait(false);
        IReadOnlyList<StreamHost> hosts = [.. answers.SelectMany(a => a)];
        BytestreamsLog.S5bProxiesFound(_logger, hosts.Count, string.Join(", ", hosts.Select(h => $"{h.Jid} {h.Host}:{h.Port}")));
        lookup.FoundNone = hosts.Count == 0;
        return hosts;
    }

    /// <summary>The address query (XEP-0065 §4.3.1): <c>&lt;query/&gt;</c> get to the proxy; its streamhosts (jid, host and port).</summary>
    private async Task<IReadOnlyList<StreamHost>> QueryAddressAsync(XmppSession session, Jid proxy, CancellationToken cancellationToken)
    {
        var answer = await BoundedAsync(
            ct => session.SendIqAsync(Stanza.MakeIq(IqType.Get, proxy, new XElement(BytestreamsQuery.Name)), Options.DiscoveryTimeout, ct),
            proxy,
            "address query",
            cancellationToken).ConfigureAwait(false);
        var query = answer?.Element(BytestreamsQuery.Name);
        return query is null ? [] : BytestreamsQuery.Parse(query).StreamHosts;
    }

    /// <summary>Runs one discovery request under <see cref="Socks5BytestreamOptions.DiscoveryTimeout"/>; an error or timeout yields null.</summary>
    private async Task<T?> BoundedAsync<T>(Func<CancellationToken, Task<T>> request, Jid to, string what, CancellationToken cancellationToken)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.DiscoveryTimeout);
        try
        {
            return await request(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            BytestreamsLog.S5bProxySkipped(_logger, to.ToString(), $"no answer to the {what} within {Options.DiscoveryTimeout.TotalSeconds:0.#} s");
            return null;
        }
        catch (XmppException ex)
        {
            BytestreamsLog.S5bProxySkipped(_logger, to.ToString(), $"{what} failed: {ex.Message}");
            return null;
        }
    }

    /// <summary>
    /// One account's proxy lookup, shared by the sends that need it. <see cref="FoundNone"/> is written before
    /// <see cref="Hosts"/> completes, so whoever sees it completed sees the flag too; an empty result is not kept.
    /// </summary>
    private sealed class ProxyLookup(Jid? account)
    {
        private volatile bool _foundNone;

        public Jid? Account { get; } = account;

        public Task<IReadOnlyList<StreamHost>> Hosts { get; set; } = null!;

        public bool FoundNone
        {
            get => _foundNone;
            set => _foundNone = value;
        }
    }
}
