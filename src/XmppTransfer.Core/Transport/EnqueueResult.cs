namespace XmppTransfer.Core.Transport;

/// <summary>What <see cref="OutgoingQueue.TryEnqueue"/> did with a stanza.</summary>
internal enum EnqueueResult
{
    /// <summary>Queued for the writer loop.</summary>
    Queued,

    /// <summary>Refused: the queue holds its limit of unwritten data (the peer is not reading fast enough).</summary>
    Full,

    /// <summary>Refused: the stream is closing or closed.</summary>
    Closed,
}
