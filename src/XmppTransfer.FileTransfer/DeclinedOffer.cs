using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

/// <summary>
/// An offer the manager declined on arrival by its own policy (<see cref="FileTransferOptions.AcceptFrom"/>,
/// <see cref="FileTransferOptions.MaxFileSize"/>): it never reached <see cref="FileTransferManager.ReceiveOffersAsync"/>, and its
/// sender has been told. Raised through <see cref="FileTransferManager.OfferDeclined"/>.
/// </summary>
/// <param name="From">The sender's full JID.</param>
/// <param name="Sid">The stream id of the offer (the IQ id for an out-of-band offer without sid).</param>
/// <param name="File">Name, size, hashes, description as offered (size -1 for an out-of-band offer).</param>
/// <param name="Reason">Which policy declined it.</param>
public sealed record DeclinedOffer(Jid From, string Sid, FileOfferDescription File, OfferDeclineReason Reason)
{
    /// <summary>The offered name reduced to a plain, safe file name, as <see cref="IncomingFileOffer.SafeName"/>.</summary>
    public string SafeName => SafeFileName.From(File.Name);
}
