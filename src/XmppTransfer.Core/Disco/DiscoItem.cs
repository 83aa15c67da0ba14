namespace XmppTransfer.Core.Disco;

/// <summary>An item in a disco#items result (XEP-0030 §4.1).</summary>
public sealed record DiscoItem(Jid Jid, string? Node = null, string? Name = null);
