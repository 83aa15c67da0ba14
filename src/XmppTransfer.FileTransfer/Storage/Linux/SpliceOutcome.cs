namespace XmppTransfer.FileTransfer.Storage.Linux;

/// <summary>How a <see cref="SocketFileSplice.MoveAsync"/> ended.</summary>
internal enum SpliceOutcome
{
    /// <summary>Every byte asked for is in the file.</summary>
    Done,

    /// <summary>The peer closed the stream first.</summary>
    Ended,

    /// <summary>The socket or the file system cannot splice; the bytes moved so far are in the file, the rest is still in the socket.</summary>
    Unsupported,
}
