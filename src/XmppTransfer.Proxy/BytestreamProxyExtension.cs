using System.Globalization;
using System.Net;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

/// <summary>
/// The XMPP face of a XEP-0065 (v1.8.2) streamhost, attachable to any <see cref="XmppSession"/>: an external
/// component (XEP-0114) or the embedded server's own session. It answers disco#info (identity
/// <c>proxy/bytestreams</c>), the address query (one <c>&lt;streamhost/&gt;</c> per advertised host) and activation,
/// which it checks by recomputing SHA1(sid + stanza <c>from</c> + activate JID) before calling
/// <see cref="Socks5Proxy.TryActivateTracked"/>. One instance may be attached to one
/// session after another (reconnects); the per-user stream counts live here and survive them.
/// </summary>
public sealed class BytestreamProxyExtension : IXmppExtension
{
    private static readonly XName s_query = XName.Get("query", Namespaces.Bytestreams);
    private static readonly XName s_activate = XName.Get("activate", Namespaces.Bytestreams);
    private static readonly XName s_streamHost = XName.Get("streamhost", Namespaces.Bytestreams);

    private readonly Socks5Proxy _proxy;
    private readonly BytestreamProxyOptions _options;
    private readonly ProxyAccessPolicy _policy;
    private readonly ILogger _logger;
    private readonly Lock _countsLock = new();
    private readonly Dictionary<Jid, int> _activeByJid = [];

    public BytestreamProxyExtension(Socks5Proxy proxy, BytestreamProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        options ??= BytestreamProxyOptions.Default;
        options.Validate();
        _proxy = proxy;
        _options = options;
        _policy = new ProxyAccessPolicy(options);
        _logger = options.LoggerFactory.CreateLogger<BytestreamProxyExtension>();
    }

    /// <summary>The proxy this face activates streams on.</summary>
    public Socks5Proxy Proxy => _proxy;

    /// <summary>Streams now relaying for <paramref name="requester"/> (its bare JID) that this face activated.</summary>
    public int GetActiveStreams(Jid requester)
    {
        ArgumentNullException.ThrowIfNull(requester);
        lock (_countsLock)
        {
            return _activeByJid.GetValueOrDefault(requester.Bare);
        }
    }

    /// <inheritdoc/>
    public void Attach(XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Disco.AddIdentity(new DiscoIdentity("proxy", "bytestreams", _options.Name));
        session.Disco.AddFeature(Namespaces.Bytestreams);
        session.RegisterIqHandler(s_query, IqType.Get, (iq, _) => ValueTask.FromResult<XElement?>(HandleAddressQuery(session, iq)));
        session.RegisterIqHandler(s_query, IqType.Set, (iq, _) => ValueTask.FromResult(HandleActivation(session, iq)));
    }

    private XElement HandleAddressQuery(XmppSession session, XElement iq)
    {
        Jid requester = Authorize(session, iq, "address query");
        List<(string Host, int Port)> hosts = AdvertisedHosts();
        if (hosts.Count == 0)
        {
            _proxy.Metrics.ActivationRefused(ProxyActivationRefusal.NotAllowed);
            throw new XmppStanzaErrorException(StanzaError.NotAllowed("The proxy has no address to advertise."));
        }

        string jid = StreamHostJid(session, iq);
        XElement query = new(s_query);
        if ((string?)iq.Element(s_query)!.Attribute("sid") is { } sid)
        {
            // Older clients put the sid in the address query; echo it (XEP-0065 §4.1 tolerance).
            query.SetAttributeValue("sid", sid);
        }

        foreach ((string host, int port) in hosts)
        {
            query.Add(new XElement(
                s_streamHost,
                new XAttribute("jid", jid),
                new XAttribute("host", host),
                new XAttribute("port", port.ToString(CultureInfo.InvariantCulture))));
        }

        _proxy.Metrics.AddressQueried();
        ProxyLog.AddressQuery(_logger, requester.ToString());
        return query;
    }

    private XElement? HandleActivation(XmppSession session, XElement iq)
    {
        Jid requester = Authorize(session, iq, "activation");
        XElement query = iq.Element(s_query)!;
        string? sid = (string?)query.Attribute("sid");
        string? targetText = query.Element(s_activate)?.Value.Trim();
        if (string.IsNullOrEmpty(sid) || string.IsNullOrEmpty(targetText))
        {
            throw Refuse(ProxyActivationRefusal.BadRequest, StanzaError.BadRequest("Activation needs a sid and an <activate/> JID."), sid, requester, targetText);
        }

        if (!Jid.TryParse(targetText, out Jid? target))
        {
            throw Refuse(ProxyActivationRefusal.JidMalformed, StanzaError.JidMalformed("The activate element does not hold a valid JID."), sid, requester, null);
        }

        // The server stamped 'from' (it is the requester's full JID exactly as the peers used it); the target is
        // taken prepped, and also as sent when that differs, since the peers hashed the JID they exchanged.
        string from = (string)iq.Attribute("from")!;
        Jid bare = requester.Bare;
        if (!TryReserve(bare))
        {
            throw Refuse(ProxyActivationRefusal.StreamLimit,
                StanzaError.ResourceConstraint($"At most {_options.MaxActiveStreamsPerJid} active streams per user."), sid, requester, target);
        }

        ActivationResult result;
        string dstAddr = Socks5Address.Compute(sid, from, target.ToString());
        try
        {
            result = _proxy.TryActivateTracked(dstAddr, _ => Release(bare));
            if (result == ActivationResult.NotFound && !string.Equals(targetText, target.ToString(), StringComparison.Ordinal))
            {
                dstAddr = Socks5Address.Compute(sid, from, targetText);
                result = _proxy.TryActivateTracked(dstAddr, _ => Release(bare));
            }
        }
        catch
        {
            Release(bare);
            throw;
        }

        if (result != ActivationResult.Activated)
        {
            Release(bare);
        }

        return result switch
        {
            ActivationResult.Activated => Activated(dstAddr, requester, target),
            ActivationResult.NotFound => throw Refuse(ProxyActivationRefusal.NotFound,
                StanzaError.ItemNotFound("No stream with that sid, requester and target."), sid, requester, target),
            ActivationResult.OneLegOnly => throw Refuse(ProxyActivationRefusal.NotAllowed,
                StanzaError.NotAllowed("Only one side is connected."), sid, requester, target),
            _ => throw Refuse(ProxyActivationRefusal.NotAllowed, StanzaError.NotAllowed("The stream is already active."), sid, requester, target),
        };
    }

    private XElement? Activated(string dstAddr, Jid requester, Jid target)
    {
        ProxyLog.ActivatedBy(_logger, dstAddr, requester.ToString(), target.ToString());
        return null;
    }

    /// <summary>The requester from the server-stamped 'from', checked against the access policy.</summary>
    private Jid Authorize(XmppSession session, XElement iq, string request)
    {
        Jid? from = Stanza.GetFrom(iq);
        if (from is not null && _policy.IsAllowed(from, session.LocalJid))
        {
            return from;
        }

        _proxy.Metrics.ActivationRefused(ProxyActivationRefusal.Forbidden);
        ProxyLog.AccessDenied(_logger, request, (string?)iq.Attribute("from") ?? "(none)");
        throw new XmppStanzaErrorException(StanzaError.Forbidden("You may not use this proxy."));
    }

    private XmppStanzaErrorException Refuse(ProxyActivationRefusal reason, StanzaError error, string? sid, Jid requester, object? target)
    {
        _proxy.Metrics.ActivationRefused(reason);
        ProxyLog.ActivationRefused(_logger, sid ?? "(none)", requester.ToString(), target?.ToString() ?? "(none)", error.Condition);
        return new XmppStanzaErrorException(error);
    }

    private bool TryReserve(Jid bare)
    {
        lock (_countsLock)
        {
            int count = _activeByJid.GetValueOrDefault(bare);
            if (count >= _options.MaxActiveStreamsPerJid)
            {
                return false;
            }

            _activeByJid[bare] = count + 1;
            return true;
        }
    }

    private void Release(Jid bare)
    {
        lock (_countsLock)
        {
            if (_activeByJid.TryGetValue(bare, out int count))
            {
                if (count <= 1)
                {
                    _activeByJid.Remove(bare);
                }
                else
                {
                    _activeByJid[bare] = count - 1;
                }
            }
        }
    }

    private string StreamHostJid(XmppSession session, XElement iq) =>
        _options.Jid ?? Stanza.GetTo(iq)?.ToString() ?? session.LocalJid?.ToString()
        ?? throw new XmppStanzaErrorException(StanzaError.InternalServerError());

    private List<(string Host, int Port)> AdvertisedHosts()
    {
        IReadOnlyList<IPEndPoint> bound = _proxy.LocalEndpoints;
        List<(string, int)> hosts = [];
        if (_options.StreamHosts.Count > 0)
        {
            foreach (ProxyStreamHost host in _options.StreamHosts)
            {
                if (host.Port is { } port)
                {
                    hosts.Add((host.AdvertisedHost, port));
                }
                else if (bound.Count > 0)
                {
                    hosts.Add((host.AdvertisedHost, bound[0].Port));
                }
            }

            return hosts;
        }

        foreach (IPEndPoint endPoint in bound)
        {
            if (!endPoint.Address.Equals(IPAddress.Any) && !endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                hosts.Add((endPoint.Address.ToString(), endPoint.Port));
            }
        }

        return hosts;
    }
}
