namespace XmppTransfer.Core.Xml;

/// <summary>The attributes of a peer's <c>&lt;stream:stream&gt;</c> opening tag.</summary>
public sealed record StreamHeader(string ContentNamespace, string? Id, string? From, string? To, string? Version, string? Language);
