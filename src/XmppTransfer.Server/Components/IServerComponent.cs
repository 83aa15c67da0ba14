using XmppTransfer.Server.Internal;

namespace XmppTransfer.Server.Components;

/// <summary>
/// A service at a subdomain of the server (<c>proxy.example.org</c>): built in (the SOCKS5 proxy) or attached over
/// XEP-0114. The router calls <see cref="IStanzaSink.Deliver"/> for every stanza addressed to <see cref="Domain"/>;
/// the component answers through the <see cref="IComponentRouter"/> it was given.
/// </summary>
internal interface IServerComponent : IStanzaSink
{
    /// <summary>The component's domain, lower-case.</summary>
    string Domain { get; }

    /// <summary>The name shown in the server's disco#items.</summary>
    string? Name { get; }
}
