namespace XmppTransfer.FileTransfer;

/// <summary>Why the manager declined an offer by its own policy (<see cref="FileTransferManager.OfferDeclined"/>).</summary>
public enum OfferDeclineReason
{
    /// <summary>The sender's bare JID is not in <see cref="FileTransferOptions.AcceptFrom"/>.</summary>
    SenderNotAccepted,

    /// <summary>The offered size is over <see cref="FileTransferOptions.MaxFileSize"/>.</summary>
    TooLarge,
}
