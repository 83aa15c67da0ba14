namespace XmppTransfer.FileTransfer;

/// <summary>Options for accepting one offer.</summary>
public sealed record FileReceiveOptions
{
    public static FileReceiveOptions Default { get; } = new();

    /// <summary>Replace an existing file of the same name instead of saving as <c>name (1).ext</c>. Default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Resume a matching partial download (XEP-0096 range). Default true.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>
    /// Compute the SHA-256 of the received file even when the offer carries no hash to verify against (it is
    /// then only reported). Default true. With false and an offer without hashes nothing is hashed: the fastest
    /// receive, and nothing is verified. Offered hashes are always verified.
    /// </summary>
    public bool ComputeSha256 { get; init; } = true;

    /// <summary>Prefer SOCKS5 when the sender offers it. Default true.</summary>
    public bool PreferSocks5 { get; init; } = true;
}
