using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Server.Internal;

/// <summary>What <see cref="Router.Bind"/> did: the bound JID or the error, and the session it replaced (to be closed with <c>conflict</c>).</summary>
internal sealed record BindOutcome(Jid? Jid, StanzaError? Error, C2sConnection? Replaced);
