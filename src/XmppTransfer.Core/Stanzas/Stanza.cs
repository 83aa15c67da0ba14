using System.Xml.Linq;

namespace XmppTransfer.Core.Stanzas;

/// <summary>Builders and accessors for the three stanza kinds, over plain <see cref="XElement"/>s.</summary>
public static class Stanza
{
    public static readonly XName Iq = XName.Get("iq", Namespaces.Client);
    public static readonly XName Message = XName.Get("message", Namespaces.Client);
    public static readonly XName Presence = XName.Get("presence", Namespaces.Client);

    /// <summary>Makes an IQ of the given type with an optional payload.</summary>
    public static XElement MakeIq(IqType type, Jid? to, XElement? payload = null, string? id = null)
    {
        var iq = new XElement(Iq, new XAttribute("type", type.ToString().ToLowerInvariant()), new XAttribute("id", id ?? NewId()));
        if (to is not null)
        {
            iq.SetAttributeValue("to", to.ToString());
        }

        if (payload is not null)
        {
            iq.Add(payload);
        }

        return iq;
    }

    /// <summary>The result answering <paramref name="request"/>, addressed back to its sender.</summary>
    public static XElement MakeResult(XElement request, XElement? payload = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = new XElement(Iq, new XAttribute("type", "result"), new XAttribute("id", (string?)request.Attribute("id") ?? string.Empty));
        CopyReplyAddresses(request, result);
        if (payload is not null)
        {
            result.Add(payload);
        }

        return result;
    }

    /// <summary>The error answering <paramref name="request"/>: its payload echoed (RFC 6120 §8.3.1) and the error.</summary>
    public static XElement MakeError(XElement request, StanzaError error)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(error);
        var reply = new XElement(request.Name, new XAttribute("type", "error"));
        var id = (string?)request.Attribute("id");
        if (id is not null)
        {
            reply.SetAttributeValue("id", id);
        }

        CopyReplyAddresses(request, reply);
        if (request.Name == Iq && request.FirstNode is XElement payload && payload.Name.NamespaceName != Namespaces.Client)
        {
            reply.Add(new XElement(payload));
        }

        reply.Add(error.ToXml());
        return reply;
    }

    /// <summary>The IQ type, or null when the attribute is missing or unknown.</summary>
    public static IqType? GetIqType(XElement iq) => (string?)iq?.Attribute("type") switch
    {
        "get" => IqType.Get,
        "set" => IqType.Set,
        "result" => IqType.Result,
        "error" => IqType.Error,
        _ => null,
    };

    /// <summary>The parsed <c>from</c> attribute, or null when absent or malformed.</summary>
    public static Jid? GetFrom(XElement stanza) => Jid.TryParse((string?)stanza?.Attribute("from"), out var jid) ? jid : null;

    /// <summary>
    /// The full JID an unavailable presence is from: the one session that went away (a bare JID's presence says nothing
    /// about any one resource). Null for any other presence.
    /// </summary>
    public static Jid? GetUnavailableFullJid(XElement presence) =>
        (string?)presence?.Attribute("type") == "unavailable" && GetFrom(presence!) is { IsBare: false } from ? from : null;

    /// <summary>The parsed <c>to</c> attribute, or null when absent or malformed.</summary>
    public static Jid? GetTo(XElement stanza) => Jid.TryParse((string?)stanza?.Attribute("to"), out var jid) ? jid : null;

    /// <summary>A fresh stanza id: 16 random hex characters.</summary>
    public static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    private static void CopyReplyAddresses(XElement request, XElement reply)
    {
        var from = (string?)request.Attribute("from");
        var to = (string?)request.Attribute("to");
        if (from is not null)
        {
            reply.SetAttributeValue("to", from);
        }

        if (to is not null)
        {
            reply.SetAttributeValue("from", to);
        }
    }
}
