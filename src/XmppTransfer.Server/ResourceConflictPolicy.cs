namespace XmppTransfer.Server;

/// <summary>What happens when a client binds a resource that another session of the same account holds (RFC 6120 §7.7.2.2).</summary>
public enum ResourceConflictPolicy
{
    /// <summary>The new session wins; the old one is closed with a <c>conflict</c> stream error.</summary>
    ReplaceExisting,

    /// <summary>The new session gets a server-generated resource instead; the old one is kept.</summary>
    GenerateNew,
}
