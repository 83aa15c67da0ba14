using System.Net;
using System.Net.Sockets;

namespace XmppTransfer.Core.Transport;

/// <summary>
/// What a remote peer's address counts under wherever we limit or throttle per address (the embedded server's login
/// throttle, the direct SOCKS5 listener's connection caps): IPv4 as itself, also when mapped into IPv6; IPv6 by its /64,
/// since one host or LAN hands out a whole /64 and could otherwise count as billions of peers.
/// </summary>
internal static class RemoteAddressKey
{
    public static IPAddress Of(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
