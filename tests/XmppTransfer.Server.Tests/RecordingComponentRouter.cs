using System.Xml.Linq;
using XmppTransfer.Server.Components;

namespace XmppTransfer.Server.Tests;

/// <summary>Keeps what a built-in component routes, so it can be tested without a server.</summary>
internal sealed class RecordingComponentRouter : IComponentRouter
{
    public List<XElement> Routed { get; } = [];

    public void RouteFromComponent(IServerComponent component, XElement stanza) => Routed.Add(stanza);
}
