namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>An answer the fake server sends: SRV or CNAME. A null owner means "the query name".</summary>
internal sealed record FakeDnsRecord(ushort Type, string? Owner, ushort Priority, ushort Weight, ushort Port, string Target)
{
    public const ushort TypeCname = 5;
    public const ushort TypeSrv = 33;

    public static FakeDnsRecord Srv(ushort priority, ushort weight, ushort port, string target, string? owner = null) =>
        new(TypeSrv, owner, priority, weight, port, target);

    public static FakeDnsRecord Cname(string target, string? owner = null) => new(TypeCname, owner, 0, 0, 0, target);
}
