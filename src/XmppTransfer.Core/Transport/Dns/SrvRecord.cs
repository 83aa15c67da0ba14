namespace XmppTransfer.Core.Transport.Dns;

/// <summary>One DNS SRV resource record (RFC 2782).</summary>
/// <param name="Priority">Lower is tried first.</param>
/// <param name="Weight">Relative share within one priority; 0 means "almost never first" when others have weight.</param>
/// <param name="Port">TCP or UDP port of the service.</param>
/// <param name="Target">
/// Host name without the trailing dot, in DNS presentation form; <c>"."</c> means the service is decidedly not available.
/// </param>
internal sealed record SrvRecord(ushort Priority, ushort Weight, ushort Port, string Target)
{
    /// <summary>The target that announces "service decidedly not available at this domain" (RFC 2782).</summary>
    public const string NoServiceTarget = ".";

    /// <summary>Whether this record says the service is not offered (<see cref="Target"/> is <c>"."</c>).</summary>
    public bool IsNoService => Target == NoServiceTarget;
}
