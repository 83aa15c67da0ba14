namespace XmppTransfer.Server.Accounts;

/// <summary>One salted SCRAM credential as written to the accounts file (base64 fields); never a password.</summary>
internal sealed record StoredCredential(string Salt, int Iterations, string StoredKey, string ServerKey);
