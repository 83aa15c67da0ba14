using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Core.Component;

/// <summary>The XEP-0114 handshake digest: lowercase hex SHA-1 of the stream id followed by the secret.</summary>
public static class ComponentHandshake
{
    public static string Compute(string streamId, string secret)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret)));
    }
}
