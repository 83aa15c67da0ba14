using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>A <c>jabber:x:oob</c> link in a message (what HTTP upload shares): no acknowledgement, just a URL.</summary>
public sealed record OobLink(Jid From, Uri Url, string? Description);
