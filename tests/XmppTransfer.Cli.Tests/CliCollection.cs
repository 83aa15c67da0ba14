namespace XmppTransfer.Cli.Tests;

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliServerFixture>
{
    public const string Name = "xft against an embedded server";
}
