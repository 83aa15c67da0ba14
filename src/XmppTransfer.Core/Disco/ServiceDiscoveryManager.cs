using System.Collections.Immutable;
using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Core.Disco;

/// <summary>
/// Service discovery (XEP-0030 v2.5): answers disco#info and disco#items from the identities and
/// features that extensions register (and the XEP-0115 caps node), and queries other entities.
/// </summary>
public sealed class ServiceDiscoveryManager
{
    private static readonly XName s_infoQuery = XName.Get("query", Namespaces.DiscoInfo);
    private static readonly XName s_itemsQuery = XName.Get("query", Namespaces.DiscoItems);
    private readonly XmppSession _session;
    private readonly object _gate = new();
    private ImmutableList<DiscoIdentity> _identities = [];
    private ImmutableSortedSet<string> _features = ImmutableSortedSet.Create(StringComparer.Ordinal, Namespaces.DiscoInfo, Namespaces.DiscoItems);

    internal ServiceDiscoveryManager(XmppSession session)
    {
        _session = session;
        session.RegisterIqHandler(s_infoQuery, IqType.Get, HandleInfo);
        session.RegisterIqHandler(s_itemsQuery, IqType.Get, HandleItems);
    }

    /// <summary>Our identities.</summary>
    public IReadOnlyList<DiscoIdentity> Identities => _identities;

    /// <summary>Our features (namespaces we support).</summary>
    public IReadOnlyCollection<string> Features => _features;

    /// <summary>The node URI of our software for entity capabilities.</summary>
    public string CapsNode { get; set; } = "https://xmpptransfer.dev/xft";

    /// <summary>Answers disco#items; the default lists nothing. The arguments are the requester and the node.</summary>
    public Func<Jid?, string?, IReadOnlyList<DiscoItem>?>? ItemsProvider { get; set; }

    /// <summary>The current XEP-0115 verification string.</summary>
    public string CapsVer => EntityCapabilities.ComputeVer(_identities, _features);

    public void AddIdentity(DiscoIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        lock (_gate)
        {
            if (!_identities.Contains(identity))
            {
                _identities = _identities.Add(identity);
            }
        }
    }

    public void AddFeature(string feature)
    {
        ArgumentException.ThrowIfNullOrEmpty(feature);
        lock (_gate)
        {
            _features = _features.Add(feature);
        }
    }

    public void RemoveFeature(string feature)
    {
        lock (_gate)
        {
            _features = _features.Remove(feature);
        }
    }

    /// <summary>The XEP-0115 <c>&lt;c/&gt;</c> element for presence.</summary>
    public XElement CreateCapsElement() => new(
        XName.Get("c", Namespaces.Caps),
        new XAttribute("hash", "sha-1"),
        new XAttribute("node", CapsNode),
        new XAttribute("ver", CapsVer));

    /// <summary>Asks <paramref name="jid"/> for its identities and features.</summary>
    public async Task<DiscoInfo> GetInfoAsync(Jid jid, string? node = null, CancellationToken cancellationToken = default)
    {
        var query = new XElement(s_infoQuery);
        if (node is not null)
        {
            query.SetAttributeValue("node", node);
        }

        var result = await _session.SendIqAsync(Stanza.MakeIq(IqType.Get, jid, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        return DiscoInfo.Parse(result.Element(s_infoQuery) ?? new XElement(s_infoQuery));
    }

    /// <summary>Asks <paramref name="jid"/> for its items.</summary>
    public async Task<IReadOnlyList<DiscoItem>> GetItemsAsync(Jid jid, string? node = null, CancellationToken cancellationToken = default)
    {
        var query = new XElement(s_itemsQuery);
        if (node is not null)
        {
            query.SetAttributeValue("node", node);
        }

        var result = await _session.SendIqAsync(Stanza.MakeIq(IqType.Get, jid, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        var items = new List<DiscoItem>();
        foreach (var item in (result.Element(s_itemsQuery) ?? new XElement(s_itemsQuery)).Elements(XName.Get("item", Namespaces.DiscoItems)))
        {
            if (Jid.TryParse((string?)item.Attribute("jid"), out var itemJid))
            {
                items.Add(new DiscoItem(itemJid, (string?)item.Attribute("node"), (string?)item.Attribute("name")));
            }
        }

        return items;
    }

    /// <summary>The disco#info payload describing us.</summary>
    public XElement BuildInfo(string? node)
    {
        var query = new XElement(s_infoQuery);
        if (node is not null)
        {
            query.SetAttributeValue("node", node);
        }

        foreach (var identity in _identities)
        {
            var element = new XElement(
                XName.Get("identity", Namespaces.DiscoInfo),
                new XAttribute("category", identity.Category),
                new XAttribute("type", identity.Type));
            if (identity.Name is not null)
            {
                element.SetAttributeValue("name", identity.Name);
            }

            if (identity.Language is not null)
            {
                element.SetAttributeValue(XNamespace.Xml + "lang", identity.Language);
            }

            query.Add(element);
        }

        foreach (var feature in _features)
        {
            query.Add(new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", feature)));
        }

        return query;
    }

    private ValueTask<XElement?> HandleInfo(XElement iq, CancellationToken cancellationToken)
    {
        var node = (string?)iq.Element(s_infoQuery)!.Attribute("node");

        // Only our own caps node (node#ver) is known; any other node does not exist (XEP-0030 §3.1).
        return node is not null && node != CapsNode + "#" + CapsVer
            ? throw new XmppStanzaErrorException(StanzaError.ItemNotFound())
            : ValueTask.FromResult<XElement?>(BuildInfo(node));
    }

    private ValueTask<XElement?> HandleItems(XElement iq, CancellationToken cancellationToken)
    {
        var node = (string?)iq.Element(s_itemsQuery)!.Attribute("node");
        var items = ItemsProvider?.Invoke(Stanza.GetFrom(iq), node);
        if (items is null && node is not null)
        {
            throw new XmppStanzaErrorException(StanzaError.ItemNotFound());
        }

        var query = new XElement(s_itemsQuery);
        if (node is not null)
        {
            query.SetAttributeValue("node", node);
        }

        foreach (var item in items ?? [])
        {
            var element = new XElement(XName.Get("item", Namespaces.DiscoItems), new XAttribute("jid", item.Jid.ToString()));
            if (item.Node is not null)
            {
                element.SetAttributeValue("node", item.Node);
            }

            if (item.Name is not null)
            {
                element.SetAttributeValue("name", item.Name);
            }

            query.Add(element);
        }

        return ValueTask.FromResult<XElement?>(query);
    }
}
