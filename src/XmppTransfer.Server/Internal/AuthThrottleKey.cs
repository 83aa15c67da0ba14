using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// What <see cref="AuthThrottle"/> counts failures for: an address (no account), an account from an address, or an account
/// from anywhere (no address). Addresses are <see cref="Core.Transport.RemoteAddressKey"/>s (an IPv4 address or an IPv6 /64).
/// </summary>
internal readonly record struct AuthThrottleKey(string? Account, IPAddress? Address);
