namespace XmppTransfer.Server.Internal;

/// <summary>An account's known-good addresses, the least recent success first.</summary>
internal sealed class KnownGoodAccount(string account)
{
    public string Account { get; } = account;

    public List<KnownGoodAddress> Addresses { get; } = new(KnownGoodAddresses.AddressesPerAccount);

    public long LastSuccess { get; set; }
}
