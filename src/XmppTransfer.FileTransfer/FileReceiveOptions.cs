namespace XmppTransfer.FileTransfer;

/// <summary>Options for accepting one offer.</summary>
public sealed record FileReceiveOptions
{
    public static FileReceiveOptions Default { get; } = new();

    /// <summary>Replace an existing file of the same name instead of saving as <c>name (1).ext</c>. Default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Resume a matching partial download (XEP-0096 range). Default true.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Prefer SOCKS5 when the sender offers it. Default true.</summary>
    public bool PreferSocks5 { get; init; } = true;
}
