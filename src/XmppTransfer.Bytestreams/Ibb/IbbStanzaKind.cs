namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>Which stanza carries IBB data (XEP-0047 §2.1 <c>stanza</c> attribute).</summary>
public enum IbbStanzaKind
{
    /// <summary>IQ-set per block, acknowledged by the receiver (default, recommended): flow control for free.</summary>
    Iq,

    /// <summary>Message per block, unacknowledged; we pace it with a round trip every window.</summary>
    Message,
}
