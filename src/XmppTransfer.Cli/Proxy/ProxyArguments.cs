namespace XmppTransfer.Cli.Proxy;

/// <summary>What was given on the command line; null or empty means "not given" (configuration decides).</summary>
internal sealed record ProxyArguments
{
    public string? ConfigFile { get; init; }
    public string? ComponentJid { get; init; }
    public string? Server { get; init; }
    public string? SecretFile { get; init; }
    public IReadOnlyList<string> Listen { get; init; } = [];
    public IReadOnlyList<string> PublicHosts { get; init; } = [];
    public IReadOnlyList<string> AllowDomains { get; init; } = [];
    public IReadOnlyList<string> AllowJids { get; init; } = [];
    public bool AllowAnyone { get; init; }
    public int? MaxConnections { get; init; }
    public int? MaxPerAddress { get; init; }
    public int? MaxStreamsPerJid { get; init; }
    public string? Rate { get; init; }
    public string? TotalRate { get; init; }
    public string? MaxBytesPerStream { get; init; }
    public string? RelayBufferSize { get; init; }
    public string? Metrics { get; init; }
    public bool Json { get; init; }
}
