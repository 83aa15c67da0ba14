using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Socks5;

/// <summary>
/// The <c>&lt;query xmlns='http://jabber.org/protocol/bytestreams'/&gt;</c> of XEP-0065 in its four uses: the offer
/// (sid, mode, streamhosts, optional dstaddr), the target's answer (<c>streamhost-used</c>), the activation
/// (<c>activate</c>) and the proxy address query and answer (streamhosts without sid).
/// </summary>
internal sealed record BytestreamsQuery
{
    public static readonly XName Name = XName.Get("query", Namespaces.Bytestreams);
    private static readonly XName s_streamHostUsed = XName.Get("streamhost-used", Namespaces.Bytestreams);
    private static readonly XName s_activate = XName.Get("activate", Namespaces.Bytestreams);

    public string? Sid { get; init; }

    /// <summary><c>tcp</c> (the default when absent) or <c>udp</c> (which we refuse).</summary>
    public string? Mode { get; init; }

    /// <summary>A DST.ADDR the requester computed for us (XEP-0065 §5.3.1 <c>dstaddr</c>); preferred when valid.</summary>
    public string? DstAddr { get; init; }

    public IReadOnlyList<StreamHost> StreamHosts { get; init; } = [];

    /// <summary>Streamhost elements that could not be parsed (counted so an offer of only broken hosts is visible).</summary>
    public int InvalidStreamHosts { get; init; }

    public Jid? StreamHostUsed { get; init; }

    public Jid? Activate { get; init; }

    public static BytestreamsQuery Offer(string sid, IReadOnlyList<StreamHost> streamHosts) => new() { Sid = sid, Mode = "tcp", StreamHosts = streamHosts };

    public static BytestreamsQuery Used(string sid, Jid streamHost) => new() { Sid = sid, StreamHostUsed = streamHost };

    public static BytestreamsQuery Activation(string sid, Jid target) => new() { Sid = sid, Activate = target };

    public static BytestreamsQuery Parse(XElement query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var hosts = new List<StreamHost>();
        var invalid = 0;
        foreach (var element in query.Elements(StreamHost.Name))
        {
            if (StreamHost.Parse(element) is { } host)
            {
                hosts.Add(host);
            }
            else
            {
                invalid++;
            }
        }

        var used = query.Element(s_streamHostUsed);
        var activate = query.Element(s_activate);
        return new BytestreamsQuery
        {
            Sid = (string?)query.Attribute("sid"),
            Mode = (string?)query.Attribute("mode"),
            DstAddr = (string?)query.Attribute("dstaddr"),
            StreamHosts = hosts,
            InvalidStreamHosts = invalid,
            StreamHostUsed = used is not null && Jid.TryParse((string?)used.Attribute("jid"), out var usedJid) ? usedJid : null,
            Activate = activate is not null && Jid.TryParse(activate.Value.Trim(), out var target) ? target : null,
        };
    }

    public XElement ToXml()
    {
        var query = new XElement(Name);
        if (Sid is not null)
        {
            query.SetAttributeValue("sid", Sid);
        }

        if (Mode is not null)
        {
            query.SetAttributeValue("mode", Mode);
        }

        if (DstAddr is not null)
        {
            query.SetAttributeValue("dstaddr", DstAddr);
        }

        foreach (var host in StreamHosts)
        {
            query.Add(host.ToXml());
        }

        if (StreamHostUsed is not null)
        {
            query.Add(new XElement(s_streamHostUsed, new XAttribute("jid", StreamHostUsed.ToString())));
        }

        if (Activate is not null)
        {
            query.Add(new XElement(s_activate, Activate.ToString()));
        }

        return query;
    }
}
