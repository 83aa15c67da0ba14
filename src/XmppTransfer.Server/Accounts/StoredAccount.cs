namespace XmppTransfer.Server.Accounts;

/// <summary>An account as written to the accounts file: SCRAM-SHA-1 and SCRAM-SHA-256 credentials.</summary>
internal sealed record StoredAccount(StoredCredential ScramSha1, StoredCredential ScramSha256);
