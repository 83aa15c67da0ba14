namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>A query the fake server received.</summary>
internal sealed record FakeDnsQuery(ushort Id, string Name, ushort Type, ushort Flags, bool OverTcp);
