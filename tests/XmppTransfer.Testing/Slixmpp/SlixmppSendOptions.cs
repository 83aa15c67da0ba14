namespace XmppTransfer.Testing.Slixmpp;

/// <summary>What a slixmpp sender does with its one file.</summary>
public sealed record SlixmppSendOptions
{
    /// <summary>IBB, 4096-byte blocks, stop-and-wait.</summary>
    public static SlixmppSendOptions Default { get; } = new();

    /// <summary>The only stream method offered. Default IBB.</summary>
    public SlixmppTransferMethod Method { get; init; } = SlixmppTransferMethod.Ibb;

    /// <summary>IBB block-size (1..65535). Default 4096.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>IBB blocks in flight; 1 is stop-and-wait. Default 1.</summary>
    public int Window { get; init; } = 1;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BlockSize, 65535, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Window, 1, nameof(Window));
    }
}
