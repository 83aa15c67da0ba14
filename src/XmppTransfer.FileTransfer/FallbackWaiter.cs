namespace XmppTransfer.FileTransfer;

/// <summary>A receiver's wait for the sender's IBB re-offer of a file after SOCKS5 failed (matched by sender, name, size, hashes).</summary>
internal sealed record FallbackWaiter(string Key)
{
    public TaskCompletionSource<IncomingFileOffer> Offer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
