namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>Tests that share one <see cref="ProsodyFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class ProsodyCollection : ICollectionFixture<ProsodyFixture>
{
    public const string Name = "Prosody";
}
