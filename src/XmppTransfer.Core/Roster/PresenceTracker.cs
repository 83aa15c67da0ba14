using System.Collections.Concurrent;
using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Core.Roster;

/// <summary>The available resources we have seen presence from, with their entity-capabilities data.</summary>
public sealed class PresenceTracker
{
    private readonly ConcurrentDictionary<Jid, AvailableResource> _available = new();

    /// <summary>Raised when a resource becomes available or its presence changes.</summary>
    public event Action<AvailableResource>? Available;

    /// <summary>The available resources of <paramref name="bareJid"/>, most recent first.</summary>
    public IReadOnlyList<AvailableResource> GetResources(Jid bareJid)
    {
        ArgumentNullException.ThrowIfNull(bareJid);
        var bare = bareJid.Bare;
        return _available.Values.Where(r => r.Jid.Bare == bare).OrderByDescending(r => r.Priority).ThenByDescending(r => r.Seen).ToList();
    }

    /// <summary>Everyone available.</summary>
    public IReadOnlyList<AvailableResource> All => _available.Values.ToList();

    internal void Observe(XElement presence)
    {
        var from = Stanza.GetFrom(presence);
        if (from is null || from.IsBare)
        {
            return;
        }

        var type = (string?)presence.Attribute("type");
        if (type is "unavailable" or "error")
        {
            _available.TryRemove(from, out _);
            return;
        }

        if (type is not null)
        {
            // subscribe/subscribed/unsubscribe/unsubscribed/probe are not availability.
            return;
        }

        var caps = presence.Element(XName.Get("c", Namespaces.Caps));
        _ = int.TryParse((string?)presence.Element(XName.Get("priority", Namespaces.Client)), out var priority);
        var resource = new AvailableResource(from, priority, (string?)caps?.Attribute("node"), (string?)caps?.Attribute("ver"), DateTimeOffset.UtcNow);
        _available[from] = resource;
        Available?.Invoke(resource);
    }
}
