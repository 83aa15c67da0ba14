using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// The host the built-in proxy gives clients in its streamhost (XEP-0065 <c>host</c>): the configured external address
/// (<see cref="ServerOptions.ProxyExternalHost"/>) first, else the address the proxy listens on, else, when that is every
/// address, the client listener's, else 127.0.0.1. Listening everywhere says nothing about which address other machines
/// reach us at (several interfaces, NAT), so no interface address is guessed; that last case is flagged instead, as a
/// server that hands its clients 127.0.0.1 cannot mediate a transfer between two machines.
/// </summary>
/// <param name="Host">What the streamhost says.</param>
/// <param name="OnlyLocal">True when it fell back to 127.0.0.1 while listening on every address (worth a warning).</param>
internal readonly record struct ProxyHostChoice(string Host, bool OnlyLocal)
{
    public static ProxyHostChoice For(string? externalHost, IPEndPoint proxyBound, IPEndPoint clientEndpoint)
    {
        if (externalHost is not null)
        {
            return new ProxyHostChoice(externalHost, false);
        }

        if (!IsWildcard(proxyBound.Address))
        {
            return new ProxyHostChoice(proxyBound.Address.ToString(), false);
        }

        return IsWildcard(clientEndpoint.Address)
            ? new ProxyHostChoice("127.0.0.1", true)
            : new ProxyHostChoice(clientEndpoint.Address.ToString(), false);
    }

    private static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
}
