namespace XmppTransfer.Proxy.Internal;

/// <summary>Empty → OneLeg → Paired → Active → Closed (PROTOCOLS.md §5.3).</summary>
internal enum PairState
{
    OneLeg,
    Paired,
    Active,
    Closed,
}
