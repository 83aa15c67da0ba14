namespace XmppTransfer.Core.Disco;

/// <summary>An identity in a disco#info result (XEP-0030 §3.1).</summary>
public sealed record DiscoIdentity(string Category, string Type, string? Name = null, string? Language = null);
