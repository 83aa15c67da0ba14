using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer.Si;

/// <summary>The stream-method values of SI feature negotiation.</summary>
public static class StreamMethods
{
    public const string Socks5 = Namespaces.Bytestreams;
    public const string Ibb = Namespaces.Ibb;
    public const string Oob = Namespaces.OobIq;
}
