using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Server.Accounts;
using XmppTransfer.Server.Components;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// Routes stanzas for the one domain (RFC 6120 §8.5 and §10, RFC 6121 §8.5): to full JIDs, to bare JIDs (messages to
/// the highest-priority resource, IQs answered on the account's behalf), to the server itself, and to components.
/// Presence is a shared roster: every available session sees every other one. The hot path (an IQ to a bound full
/// JID) is a dictionary lookup and a queue write on the sender's read loop; presence changes take one lock.
/// Delivery never waits: a recipient whose outgoing queue is full gets nothing more until it reads (stanzas are bounced
/// with <c>resource-constraint</c>, presence is dropped), so one slow reader cannot stall its senders or anyone else.
/// </summary>
internal sealed partial class Router : IComponentRouter
{
    private static readonly XName s_discoInfo = XName.Get("query", Namespaces.DiscoInfo);
    private static readonly XName s_discoItems = XName.Get("query", Namespaces.DiscoItems);
    private static readonly XName s_roster = XName.Get("query", Namespaces.Roster);
    private static readonly XName s_ping = XName.Get("ping", Namespaces.Ping);
    private static readonly XName s_session = XName.Get("session", Namespaces.Session);
    private static readonly XName s_priority = XName.Get("priority", Namespaces.Client);

    private readonly ServerOptions _options;
    private readonly AccountStore _accounts;
    private readonly ServerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _domain;
    private readonly ConcurrentDictionary<string, C2sConnection> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<C2sConnection>> _byAccount = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IServerComponent> _components = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Router(ServerOptions options, AccountStore accounts, ServerMetrics metrics, ILogger logger)
    {
        _options = options;
        _accounts = accounts;
        _metrics = metrics;
        _logger = logger;
        _domain = Jid.Parse(options.Domain).Domain;
    }

    public string Domain => _domain;

    /// <summary>Bound sessions now.</summary>
    public IReadOnlyList<C2sConnection> Sessions => [.. _sessions.Values];

    public bool TryAttach(IServerComponent component) => component.Domain != _domain && _components.TryAdd(component.Domain, component);

    public void Detach(IServerComponent component) => _components.TryRemove(new KeyValuePair<string, IServerComponent>(component.Domain, component));

    /// <summary>Binds a resource for <paramref name="session"/> (RFC 6120 §7).</summary>
    public BindOutcome Bind(C2sConnection session, string account, string? requested)
    {
        string resource;
        if (string.IsNullOrWhiteSpace(requested))
        {
            resource = NewResource();
        }
        else
        {
            resource = requested;
            try
            {
                _ = Jid.Create(account, _domain, resource);
            }
            catch (ArgumentException)
            {
                return new BindOutcome(null, StanzaError.BadRequest("The resource is not a valid JID resourcepart."), null);
            }
        }

        C2sConnection? replaced = null;
        lock (_lock)
        {
            var jid = Jid.Create(account, _domain, resource);
            if (_sessions.TryGetValue(jid.ToString(), out var existing))
            {
                if (_options.ResourceConflict == ResourceConflictPolicy.ReplaceExisting)
                {
                    UnbindLocked(existing);
                    replaced = existing;
                }
                else
                {
                    // The suffix would take a resource near the 1023-byte limit of a JID part past it: such a session gets a
                    // generated name of its own instead. Judged by the JID rules themselves (TryParse), on the resource as kept
                    // (normalised), since normalisation can lengthen what the client sent.
                    jid = Jid.TryParse($"{account}@{_domain}/{jid.Resource}.{NewResource()}", out var suffixed) ? suffixed : Jid.Create(account, _domain, NewResource());
                }
            }

            var list = CollectionsMarshalGet(account);
            if (list.Count >= _options.MaxResourcesPerAccount)
            {
                return new BindOutcome(null, StanzaError.ResourceConstraint("Too many sessions for this account."), replaced);
            }

            list.Add(session);
            session.FullJid = jid;
            session.IsBound = true;
            _sessions[jid.ToString()] = session;
            _metrics.SessionOpened();
            return new BindOutcome(jid, null, replaced);
        }
    }

    /// <summary>Removes the session; others get its unavailable presence if it was available. Idempotent.</summary>
    public void Unbind(C2sConnection session)
    {
        lock (_lock)
        {
            UnbindLocked(session);
        }
    }

    /// <summary>Routes a stanza a bound session sent; throws a stream error exception for an invalid <c>from</c>.</summary>
    public void RouteFromSession(C2sConnection session, XElement stanza)
    {
        _metrics.StanzaRouted();
        var from = session.FullJid!;
        var fromText = from.ToString();
        var claimed = (string?)stanza.Attribute("from");
        if (claimed is not null && claimed != fromText
            && (!Jid.TryParse(claimed, out var claimedJid) || (claimedJid != from && claimedJid != from.Bare)))
        {
            throw new XmppStreamErrorException("invalid-from", "The 'from' of a stanza is not this session's address.", sentByUs: true);
        }

        stanza.SetAttributeValue("from", fromText);
        if (stanza.Name == Stanza.Presence && stanza.Attribute("to") is null)
        {
            BroadcastPresence(session, stanza);
            return;
        }

        Route(stanza, from, isLocalUser: true);
    }

    public void RouteFromComponent(IServerComponent component, XElement stanza)
    {
        _metrics.StanzaRouted();
        var claimed = Stanza.GetFrom(stanza);
        if (claimed is null || claimed.Domain != component.Domain)
        {
            stanza.SetAttributeValue("from", component.Domain);
            claimed = Jid.Parse(component.Domain);
        }

        Route(stanza, claimed, isLocalUser: false);
    }

    /// <summary>Delivers a stanza the server itself generated, by its <c>to</c>; dropped when the recipient is not keeping up.</summary>
    public void Send(XElement stanza)
    {
        var to = Stanza.GetTo(stanza);
        if (to is null)
        {
            return;
        }

        if (to.Domain == _domain)
        {
            if (to.Resource is not null && _sessions.TryGetValue(to.ToString(), out var session))
            {
                // Answers and bounces go to the one who sent the request; refused, they are not worth another bounce.
                _ = session.Deliver(stanza);
            }
        }
        else if (_components.TryGetValue(to.Domain, out var component))
        {
            _ = component.Deliver(stanza);
        }
    }

    private void Route(XElement stanza, Jid from, bool isLocalUser)
    {
        var toText = (string?)stanza.Attribute("to");
        Jid? to;
        if (toText is null)
        {
            // RFC 6120 §10.3: no 'to' means the sender's own account (or the server, for a component).
            to = isLocalUser ? from.Bare : Jid.Parse(_domain);
        }
        else if (!Jid.TryParse(toText, out to))
        {
            Bounce(stanza, StanzaError.JidMalformed());
            return;
        }

        if (to.Domain == _domain)
        {
            if (to.Local is null)
            {
                HandleServerStanza(stanza, from, isLocalUser);
            }
            else
            {
                RouteToAccount(stanza, to, from, isLocalUser, toText is null);
            }

            return;
        }

        if (_components.TryGetValue(to.Domain, out var component))
        {
            DeliverOrBounce(component, stanza);
            return;
        }

        Bounce(stanza, new StanzaError(StanzaErrorType.Cancel, "remote-server-not-found", "This server talks to no other servers."));
    }

    private void RouteToAccount(XElement stanza, Jid to, Jid from, bool isLocalUser, bool implicitTo)
    {
        if (!_options.FileTransferEnabled && isLocalUser && IsFileTransfer(stanza))
        {
            ServerLog.FileTransferRefused(_logger, stanza.Elements().First().Name.NamespaceName, from.ToString(), to.ToString());
            Bounce(stanza, StanzaError.NotAllowed("File transfer is disabled on this server."));
            return;
        }

        var type = (string?)stanza.Attribute("type");
        if (to.Resource is not null)
        {
            if (_sessions.TryGetValue(to.ToString(), out var target))
            {
                DeliverOrBounce(target, stanza);
                return;
            }

            if (stanza.Name == Stanza.Iq)
            {
                if (type is "get" or "set")
                {
                    Bounce(stanza, StanzaError.ServiceUnavailable());
                }

                return;
            }

            if (stanza.Name != Stanza.Message || type is not (null or "normal" or "chat"))
            {
                // Presence to an unavailable resource, headlines, groupchat, errors: silently dropped (RFC 6121 §8.5.3.2).
                return;
            }
        }

        if (!AccountExists(to.Local!))
        {
            if (stanza.Name != Stanza.Presence && type is not ("error" or "result"))
            {
                Bounce(stanza, StanzaError.ServiceUnavailable());
            }

            return;
        }

        if (stanza.Name == Stanza.Message)
        {
            var best = BestResource(to.Local!);
            if (best is not null)
            {
                DeliverOrBounce(best, stanza);
            }
            else if (type is null or "normal" or "chat")
            {
                // No offline storage: the sender learns the message was not delivered.
                Bounce(stanza, StanzaError.ServiceUnavailable("The recipient is offline."));
            }
        }
        else if (stanza.Name == Stanza.Iq)
        {
            if (type is "get" or "set")
            {
                HandleAccountIq(stanza, to.Bare, from, implicitTo);
            }
        }
        else if (stanza.Name == Stanza.Presence)
        {
            RouteDirectedPresence(stanza, to.Bare, from, type);
        }
    }

    private void HandleServerStanza(XElement stanza, Jid from, bool isLocalUser)
    {
        if (stanza.Name != Stanza.Iq || Stanza.GetIqType(stanza) is not (IqType.Get or IqType.Set))
        {
            return;
        }

        var get = Stanza.GetIqType(stanza) == IqType.Get;
        var payload = stanza.Elements().FirstOrDefault();
        var node = (string?)payload?.Attribute("node");
        XElement reply = payload?.Name switch
        {
            _ when payload is null => Stanza.MakeError(stanza, StanzaError.BadRequest()),
            var n when n == s_ping => Stanza.MakeResult(stanza),
            var n when n == s_discoInfo && get => node is null
                ? Stanza.MakeResult(stanza, ServerDiscoInfo())
                : Stanza.MakeError(stanza, StanzaError.ItemNotFound()),
            var n when n == s_discoItems && get => node is null
                ? Stanza.MakeResult(stanza, ServerDiscoItems())
                : Stanza.MakeError(stanza, StanzaError.ItemNotFound()),
            var n when n == s_roster && isLocalUser => RosterReply(stanza, from, get),
            var n when n == s_session && isLocalUser => Stanza.MakeResult(stanza),
            _ => Stanza.MakeError(stanza, StanzaError.ServiceUnavailable()),
        };
        Reply(reply);
    }

    private void HandleAccountIq(XElement stanza, Jid account, Jid from, bool implicitTo)
    {
        var get = Stanza.GetIqType(stanza) == IqType.Get;
        var own = from.Bare == account;
        var payload = stanza.Elements().FirstOrDefault();
        var node = (string?)payload?.Attribute("node");
        XElement reply = payload?.Name switch
        {
            _ when payload is null => Stanza.MakeError(stanza, StanzaError.BadRequest()),
            var n when n == s_ping => Stanza.MakeResult(stanza),
            var n when n == s_discoInfo && get => node is null
                ? Stanza.MakeResult(stanza, AccountDiscoInfo())
                : Stanza.MakeError(stanza, StanzaError.ItemNotFound()),
            var n when n == s_discoItems && get => node is null
                ? Stanza.MakeResult(stanza, new XElement(s_discoItems))
                : Stanza.MakeError(stanza, StanzaError.ItemNotFound()),
            var n when n == s_roster => own ? RosterReply(stanza, from, get) : Stanza.MakeError(stanza, StanzaError.Forbidden()),
            var n when n == s_session && own => Stanza.MakeResult(stanza),
            _ => Stanza.MakeError(stanza, StanzaError.ServiceUnavailable()),
        };
        if (implicitTo)
        {
            // The request had no 'to': the answer comes from the account without naming it (RFC 6120 §10.3.3).
            reply.SetAttributeValue("from", null);
        }

        Reply(reply);
    }

    private XElement RosterReply(XElement stanza, Jid from, bool get)
    {
        if (!get)
        {
            return Stanza.MakeError(stanza, StanzaError.NotAllowed("The roster is shared by every account of this server and cannot be edited."));
        }

        var query = new XElement(s_roster);
        foreach (var user in _accounts.Users)
        {
            if (user != from.Local)
            {
                query.Add(new XElement(
                    XName.Get("item", Namespaces.Roster),
                    new XAttribute("jid", user + "@" + _domain),
                    new XAttribute("name", user),
                    new XAttribute("subscription", "both")));
            }
        }

        return Stanza.MakeResult(stanza, query);
    }

    private static XElement ServerDiscoInfo()
    {
        var query = new XElement(
            s_discoInfo,
            new XElement(XName.Get("identity", Namespaces.DiscoInfo), new XAttribute("category", "server"), new XAttribute("type", "im"), new XAttribute("name", "XmppTransfer")));
        foreach (var feature in new[] { Namespaces.DiscoInfo, Namespaces.DiscoItems, Namespaces.Ping, Namespaces.Roster })
        {
            query.Add(new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", feature)));
        }

        return query;
    }

    private XElement ServerDiscoItems()
    {
        var query = new XElement(s_discoItems);
        foreach (var component in _components.Values.OrderBy(c => c.Domain, StringComparer.Ordinal))
        {
            var item = new XElement(XName.Get("item", Namespaces.DiscoItems), new XAttribute("jid", component.Domain));
            if (component.Name is not null)
            {
                item.SetAttributeValue("name", component.Name);
            }

            query.Add(item);
        }

        return query;
    }

    private static XElement AccountDiscoInfo() => new(
        s_discoInfo,
        new XElement(XName.Get("identity", Namespaces.DiscoInfo), new XAttribute("category", "account"), new XAttribute("type", "registered")),
        new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", Namespaces.DiscoInfo)),
        new XElement(XName.Get("feature", Namespaces.DiscoInfo), new XAttribute("var", Namespaces.DiscoItems)));

    private void RouteDirectedPresence(XElement stanza, Jid account, Jid from, string? type)
    {
        switch (type)
        {
            case null or "unavailable":
                foreach (var session in AvailableResources(account.Local!))
                {
                    // Presence to a session that is not keeping up is dropped (RFC 6121 lets a server drop presence).
                    _ = session.Deliver(new XElement(stanza));
                }

                break;
            case "probe":
                SendPresenceOf(account.Local!, from);
                break;
            case "subscribe":
                // Shared roster: everyone is subscribed to everyone already.
                Send(new XElement(Stanza.Presence, new XAttribute("from", account.ToString()), new XAttribute("to", from.ToString()), new XAttribute("type", "subscribed")));
                SendPresenceOf(account.Local!, from);
                break;
            default:
                break;
        }
    }

    private void SendPresenceOf(string account, Jid to)
    {
        foreach (var session in AvailableResources(account))
        {
            var presence = session.Presence;
            if (presence is not null)
            {
                var copy = new XElement(presence);
                copy.SetAttributeValue("to", to.ToString());
                Send(copy);
            }
        }
    }

    private void BroadcastPresence(C2sConnection session, XElement stanza)
    {
        var type = (string?)stanza.Attribute("type");
        if (type is not (null or "unavailable"))
        {
            // probe, subscription requests and errors without 'to' mean nothing to a shared roster.
            return;
        }

        lock (_lock)
        {
            if (!session.IsBound)
            {
                return;
            }

            var initial = session.Presence is null;
            if (type is null)
            {
                session.Presence = new XElement(stanza);
                session.Priority = int.TryParse((string?)stanza.Element(s_priority), NumberStyles.Integer, CultureInfo.InvariantCulture, out var priority)
                    ? Math.Clamp(priority, -128, 127)
                    : 0;
            }
            else
            {
                if (initial)
                {
                    return;
                }

                session.Presence = null;
            }

            foreach (var other in _sessions.Values)
            {
                if (other != session && other.Presence is not null)
                {
                    // Presence to a session that is not keeping up is dropped, never waited for: this runs under the lock.
                    var copy = new XElement(stanza);
                    copy.SetAttributeValue("to", other.FullJid!.ToString());
                    _ = other.Deliver(copy);
                    if (initial && type is null)
                    {
                        var theirs = new XElement(other.Presence);
                        theirs.SetAttributeValue("to", session.FullJid!.ToString());
                        _ = session.Deliver(theirs);
                    }
                }
            }
        }
    }

    private void UnbindLocked(C2sConnection session)
    {
        if (!session.IsBound)
        {
            return;
        }

        session.IsBound = false;
        var jid = session.FullJid!;
        _sessions.TryRemove(new KeyValuePair<string, C2sConnection>(jid.ToString(), session));
        if (_byAccount.TryGetValue(jid.Local!, out var list))
        {
            list.Remove(session);
            if (list.Count == 0)
            {
                _byAccount.Remove(jid.Local!);
            }
        }

        _metrics.SessionClosed();
        if (session.Presence is not null)
        {
            session.Presence = null;
            foreach (var other in _sessions.Values)
            {
                if (other.Presence is not null)
                {
                    _ = other.Deliver(new XElement(
                        Stanza.Presence,
                        new XAttribute("from", jid.ToString()),
                        new XAttribute("to", other.FullJid!.ToString()),
                        new XAttribute("type", "unavailable")));
                }
            }
        }
    }

    private List<C2sConnection> CollectionsMarshalGet(string account)
    {
        if (!_byAccount.TryGetValue(account, out var list))
        {
            list = [];
            _byAccount[account] = list;
        }

        return list;
    }

    private List<C2sConnection> AvailableResources(string account)
    {
        lock (_lock)
        {
            return _byAccount.TryGetValue(account, out var list) ? [.. list.Where(s => s.Presence is not null)] : [];
        }
    }

    private C2sConnection? BestResource(string account)
    {
        lock (_lock)
        {
            if (!_byAccount.TryGetValue(account, out var list))
            {
                return null;
            }

            // RFC 6121 §8.5.2.1.1: the highest non-negative priority; ties go to the most recent session.
            C2sConnection? best = null;
            foreach (var session in list)
            {
                if (session.Presence is not null && session.Priority >= 0 && (best is null || session.Priority >= best.Priority))
                {
                    best = session;
                }
            }

            return best;
        }
    }

    private bool AccountExists(string account)
    {
        lock (_lock)
        {
            if (_byAccount.ContainsKey(account))
            {
                return true;
            }
        }

        return _accounts.Exists(account);
    }

    private static bool IsFileTransfer(XElement stanza)
    {
        if (stanza.Name == Stanza.Iq)
        {
            var ns = stanza.Elements().FirstOrDefault()?.Name.NamespaceName;
            return Stanza.GetIqType(stanza) is IqType.Get or IqType.Set && ns is Namespaces.Si or Namespaces.Ibb or Namespaces.Bytestreams;
        }

        return stanza.Name == Stanza.Message && (string?)stanza.Attribute("type") != "error" && stanza.Elements().Any(e => e.Name.NamespaceName == Namespaces.Ibb);
    }

    private void DeliverOrBounce(IStanzaSink sink, XElement stanza)
    {
        if (!sink.Deliver(stanza))
        {
            // RFC 6120 §8.3.3.18: the recipient cannot take it now; type 'wait' tells the sender to retry later.
            Bounce(stanza, StanzaError.ResourceConstraint("The recipient is not reading its stream fast enough."));
        }
    }

    private void Bounce(XElement stanza, StanzaError error)
    {
        var type = (string?)stanza.Attribute("type");
        if (type is "error" or "result" || stanza.Name == Stanza.Presence)
        {
            // Never answer an error with an error; presence errors are not worth a bounce.
            return;
        }

        _metrics.StanzaError();
        Send(Stanza.MakeError(stanza, error));
    }

    private void Reply(XElement reply)
    {
        if ((string?)reply.Attribute("type") == "error")
        {
            _metrics.StanzaError();
        }

        Send(reply);
    }

    private static string NewResource() => "xft-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
}
