namespace XmppTransfer.FileTransfer;

/// <summary>Why a file transfer failed.</summary>
public enum FileTransferErrorKind
{
    /// <summary>The receiver declined the offer.</summary>
    Declined,

    /// <summary>The peer cannot do SI file transfer (e.g. Conversations, Dino, Monal) or has no common method.</summary>
    NotSupported,

    /// <summary>The peer is not online (no available resource).</summary>
    PeerUnavailable,

    /// <summary>The bytes did not arrive, or not all of them.</summary>
    TransferFailed,

    /// <summary>The received file's size or hash does not match the offer.</summary>
    IntegrityCheckFailed,

    /// <summary>The offer was refused by local policy (size, sender, disk space, name).</summary>
    Refused,

    /// <summary>The other side cancelled.</summary>
    CancelledByPeer,

    /// <summary>A local file could not be read or written.</summary>
    LocalIo,

    /// <summary>A documented timeout fired.</summary>
    Timeout,

    /// <summary>
    /// Every byte was sent, but the receiver's confirmation could not arrive (our XMPP session ended first): it may have
    /// saved the file, but nothing says so. Out-of-band sends only (<see cref="FileTransferManager.SendOobAsync"/>).
    /// </summary>
    Unconfirmed,
}
