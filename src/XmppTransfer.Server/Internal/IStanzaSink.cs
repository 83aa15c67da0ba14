using System.Xml.Linq;

namespace XmppTransfer.Server.Internal;

/// <summary>Something the router hands stanzas to: a client session, an external component, a built-in component.</summary>
internal interface IStanzaSink
{
    /// <summary>
    /// Takes the stanza; never blocks (sessions queue it for their writer loop). False when the sink refused it because
    /// it is not keeping up (a full outgoing queue): the router bounces it with <c>resource-constraint</c>.
    /// </summary>
    bool Deliver(XElement stanza);
}
