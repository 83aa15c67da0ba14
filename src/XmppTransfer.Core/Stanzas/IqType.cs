namespace XmppTransfer.Core.Stanzas;

/// <summary>The <c>type</c> of an IQ stanza.</summary>
public enum IqType
{
    Get,
    Set,
    Result,
    Error,
}
