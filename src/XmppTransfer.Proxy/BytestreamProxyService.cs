using System.Globalization;
using System.Net;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Proxy.Internal;

namespace XmppTransfer.Proxy;

/// <summary>
/// The request handling of a XEP-0065 (v1.8.2) streamhost, independent of how stanzas reach it: the address query
/// (one <c>&lt;streamhost/&gt;</c> per advertised host, a <c>sid</c> echoed) and activation, checked by recomputing
/// DST.ADDR = SHA1(sid + stanza <c>from</c> + activate JID) before <see cref="Socks5Proxy.TryActivateTracked"/>; the
/// access policy, the per-user cap on active streams, and the refusal metrics and logs. Hosted by
/// <see cref="BytestreamProxyExtension"/> on an <see cref="XmppSession"/> (<c>xft proxy</c>) and by the embedded
/// server's built-in proxy, which has no session. The per-user counts live here, so they outlive reconnects.
/// </summary>
internal sealed class BytestreamProxyService
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

    /// <param name="proxy">The engine streams are activated on.</param>
    /// <param name="options">Validated here.</param>
    /// <param name="usersOnly">
    /// Also refuse requesters without a local part (servers and components), whatever the policy says; the embedded
    /// server serves its users only.
    /// </param>
    public BytestreamProxyService(Socks5Proxy proxy, BytestreamProxyOptions options, bool usersOnly = false)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _proxy = proxy;
        _options = options;
        _policy = new ProxyAccessPolicy(options, usersOnly);
        _logger = options.LoggerFactory.CreateLogger<BytestreamProxyService>();
    }

    /// <summary>The proxy streams are activated on.</summary>
    public Socks5Proxy Proxy => _proxy;

    /// <summary>The settings (validated).</summary>
    public BytestreamProxyOptions Options => _options;

    /// <summary>Streams now relaying for <paramref name="requester"/> (its bare JID) that this service activated.</summary>
    public int GetActiveStreams(Jid requester)
    {
        ArgumentNullException.ThrowIfNull(requester);
        lock (_countsLock)
        {
            return _activeByJid.GetValueOrDefault(requester.Bare);
        }
    }

    /// <summary>
    /// Answers a bytestreams <c>&lt;query/&gt;</c> IQ: a get is the address query, a set is an activation.
    /// </summary>
    /// <param name="iq">The IQ as routed, with the server-stamped <c>from</c>.</param>
    /// <param name="streamHost">
    /// The streamhost's own address (the session's JID, or the component's domain): used for the access policy's
    /// default local domains and, when neither <see cref="BytestreamProxyOptions.Jid"/> nor the IQ's <c>to</c> says,
    /// as the advertised streamhost JID.
    /// </param>
    /// <returns>The result payload, or null for an empty result.</returns>
    /// <exception cref="XmppStanzaErrorException">The request is refused; answer with its <see cref="XmppStanzaErrorException.Error"/>.</exception>
    /// <exception cref="ArgumentException">The IQ is not a get or set with a bytestreams query.</exception>
    public XElement? Handle(XElement iq, Jid? streamHost)
    {
        ArgumentNullException.ThrowIfNull(iq);
        XElement query = iq.Element(s_query) ?? throw new ArgumentException("The IQ has no bytestreams query.", nameof(iq));
        return Stanza.GetIqType(iq) switch
        {
            IqType.Get => AnswerAddressQuery(iq, query, streamHost),
            IqType.Set => Activate(iq, query, streamHost),
            _ => throw new ArgumentException("Only IQ get and set are requests.", nameof(iq)),
        };
    }

    private XElement AnswerAddressQuery(XElement iq, XElement request, Jid? streamHost)
    {
        Jid requester = Authorize(iq, streamHost, "address query");
        List<(string Host, int Port)> hosts = AdvertisedHosts();
        if (hosts.Count == 0)
        {
            _proxy.Metrics.ActivationRefused(ProxyActivationRefusal.NotAllowed);
            throw new XmppStanzaErrorException(StanzaError.NotAllowed("The proxy has no address to advertise."));
        }

        string jid = StreamHostJid(iq, streamHost);
        XElement query = new(s_query);
        if ((string?)request.Attribute("sid") is { } sid)
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

    private XElement? Activate(XElement iq, XElement query, Jid? streamHost)
    {
        Jid requester = Authorize(iq, streamHost, "activation");
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
    private Jid Authorize(XElement iq, Jid? streamHost, string request)
    {
        Jid? from = Stanza.GetFrom(iq);
        if (from is not null && _policy.IsAllowed(from, streamHost))
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

    private string StreamHostJid(XElement iq, Jid? streamHost) =>
        _options.Jid ?? Stanza.GetTo(iq)?.ToString() ?? streamHost?.ToString()
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
