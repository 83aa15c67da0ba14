using System.Xml.Linq;

namespace XmppTransfer.Server.Components;

/// <summary>How a component sends stanzas into the server: <c>from</c> must be the component's domain or a JID at it.</summary>
internal interface IComponentRouter
{
    /// <summary>Routes a stanza from <paramref name="component"/>; a <c>from</c> outside its domain is replaced by the domain.</summary>
    void RouteFromComponent(IServerComponent component, XElement stanza);
}
