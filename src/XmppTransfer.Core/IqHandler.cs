using System.Xml.Linq;

namespace XmppTransfer.Core;

/// <summary>
/// Handles an incoming IQ get or set. Handlers are invoked in stanza order on the read loop; their
/// synchronous part runs before the next stanza is read, and the answer is sent when the returned
/// task completes. Return the payload of the result (null for an empty result), or throw
/// <see cref="XmppStanzaErrorException"/> to answer with that error.
/// </summary>
public delegate ValueTask<XElement?> IqHandler(XElement iq, CancellationToken cancellationToken);
