namespace XmppTransfer.Core.Stanzas;

/// <summary>The <c>type</c> of a stanza <c>&lt;error/&gt;</c> (RFC 6120 §8.3.2).</summary>
public enum StanzaErrorType
{
    Cancel,
    Auth,
    Continue,
    Modify,
    Wait,
}
