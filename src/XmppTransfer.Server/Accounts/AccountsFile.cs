namespace XmppTransfer.Server.Accounts;

/// <summary>The JSON document of the accounts file.</summary>
internal sealed record AccountsFile(int Version, Dictionary<string, StoredAccount> Accounts);
