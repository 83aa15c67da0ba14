namespace XmppTransfer.Core.Roster;

/// <summary>One available resource: its full JID, priority and XEP-0115 caps node/ver if it sent them.</summary>
public sealed record AvailableResource(Jid Jid, int Priority, string? CapsNode, string? CapsVer, DateTimeOffset Seen);
