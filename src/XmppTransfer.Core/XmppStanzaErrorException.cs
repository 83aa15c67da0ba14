using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Core;

/// <summary>
/// The peer answered with a stanza error; or, thrown from a request handler, the error to answer with.
/// </summary>
public sealed class XmppStanzaErrorException : XmppException
{
    public XmppStanzaErrorException(StanzaError error, Jid? from = null)
        : base(XmppErrorKind.StanzaError, from is null ? $"The peer answered with an error: {error}." : $"{from} answered with an error: {error}.")
    {
        Error = error;
        From = from;
    }

    /// <summary>The error the peer sent (or that a handler wants sent).</summary>
    public StanzaError Error { get; }

    /// <summary>Who sent it, when known.</summary>
    public Jid? From { get; }
}
