using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

/// <summary>
/// A file someone offers us. Call <see cref="AcceptAsync"/> (which receives, verifies and saves the
/// file) or <see cref="DeclineAsync"/>; left alone, it is declined after the offer timeout.
/// </summary>
public sealed class IncomingFileOffer
{
    private const int Open = 0;
    private const int Answered = 1;
    private const int Expired = 2;
    private readonly FileTransferManager _manager;
    private int _state;

    internal IncomingFileOffer(FileTransferManager manager, Jid from, SiOffer offer)
    {
        _manager = manager;
        From = from;
        Offer = offer;
        File = offer.File;
        Sid = offer.Sid;
        Methods = offer.Methods;
        SafeName = SafeFileName.From(offer.File.Name);
    }

    internal IncomingFileOffer(FileTransferManager manager, Jid from, Oob.OobQuery query, string id)
    {
        _manager = manager;
        From = from;
        OobQuery = query;
        File = new FileOfferDescription(query.SuggestedName, -1) { Description = query.Description, Sha256 = query.Sha256 };
        Sid = query.Sid ?? id;
        Methods = [StreamMethods.Oob];
        SafeName = SafeFileName.From(query.SuggestedName);
    }

    /// <summary>The sender's full JID.</summary>
    public Jid From { get; }

    /// <summary>The stream id of the offer (the IQ id for an out-of-band offer without sid).</summary>
    public string Sid { get; }

    /// <summary>Name, size, hashes, description as offered. An out-of-band offer has no size (-1) until the download starts.</summary>
    public FileOfferDescription File { get; }

    /// <summary>The offered name reduced to a plain, safe file name (what we save as, unless it exists).</summary>
    public string SafeName { get; }

    /// <summary>The stream methods the sender offered (<c>jabber:iq:oob</c> for an out-of-band offer).</summary>
    public IReadOnlyList<string> Methods { get; }

    /// <summary>The URL to download from, for an out-of-band offer (XEP-0066); null for SI offers.</summary>
    public Uri? Url => OobQuery?.Url;

    internal SiOffer? Offer { get; }

    internal Oob.OobQuery? OobQuery { get; }

    internal TaskCompletionSource<XElement?> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Accepts into <paramref name="directory"/>: answers the offer (with a range when a matching
    /// partial exists), receives into <c>name.part</c>, verifies size and hashes, then renames to the
    /// final name. Returns when the file is complete and verified.
    /// </summary>
    /// <exception cref="FileTransferException">
    /// Of kind <see cref="FileTransferErrorKind.Timeout"/> when the offer waited longer than
    /// <see cref="FileTransferOptions.OfferTimeout"/> and was declined for us (its sender has been told and has moved on):
    /// an application that takes offers one at a time can meet such an offer behind a long transfer.
    /// </exception>
    /// <exception cref="InvalidOperationException">The application accepted or declined this offer already.</exception>
    public Task<FileTransferResult> AcceptAsync(
        string directory, FileReceiveOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        switch (Interlocked.CompareExchange(ref _state, Answered, Open))
        {
            case Expired:
                return Task.FromException<FileTransferResult>(new FileTransferException(
                    FileTransferErrorKind.Timeout, $"The offer of {SafeName} from {From} was not accepted in time and has been declined; the sender can offer it again."));
            case Answered:
                throw new InvalidOperationException("This offer was already answered.");
        }

        return _manager.ReceiveAsync(this, directory, options ?? FileReceiveOptions.Default, progress, cancellationToken);
    }

    /// <summary>
    /// True once the offer has waited longer than <see cref="FileTransferOptions.OfferTimeout"/> unanswered and was declined
    /// for us; <see cref="AcceptAsync"/> then fails with <see cref="FileTransferErrorKind.Timeout"/>.
    /// </summary>
    public bool IsExpired => Volatile.Read(ref _state) == Expired;

    /// <summary>
    /// Declines the offer (XEP-0095 §3.2: forbidden). The answer is decided when this returns: disposing the client right
    /// after still sends it before the stream closes.
    /// </summary>
    public Task DeclineAsync(string? reason = null, CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Answered, Open) == Open)
        {
            Decline(reason ?? "by the user", reason ?? "Offer Declined");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Declines an offer the receive has claimed already (<see cref="AcceptAsync"/>), because it cannot take the file
    /// (the folder cannot be written, the disk is too full, the receive failed) before answering: <see cref="DeclineAsync"/>
    /// is the user's answer to an offer nobody has answered, and does nothing once the offer is claimed. Does nothing to an
    /// offer that was answered already.
    /// </summary>
    internal void Refuse(string reason) => Decline(reason, reason);

    internal bool TryClaim() => Interlocked.CompareExchange(ref _state, Answered, Open) == Open;

    private void Decline(string logged, string text)
    {
        // XEP-0095 declines with forbidden; XEP-0066 with not-acceptable (modify). An offer answered already stays answered.
        if (Response.TrySetException(new XmppStanzaErrorException(OobQuery is null
            ? new StanzaError(StanzaErrorType.Cancel, "forbidden", text)
            : new StanzaError(StanzaErrorType.Modify, "not-acceptable", text))))
        {
            FileTransferLog.Declined(_manager.Logger, Sid, From.ToString(), logged);
        }
    }

    internal void StartTimeout(TimeSpan timeout) => _ = DeclineAfterAsync(timeout);

    private async Task DeclineAfterAsync(TimeSpan timeout)
    {
        try
        {
            await Response.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            if (Interlocked.CompareExchange(ref _state, Expired, Open) == Open)
            {
                // It keeps its sender's place until the application takes it out of the queue: expired offers that gave
                // their places back while still queued would let one sender fill the whole queue behind a long transfer.
                Decline("Offer not answered in time", "Offer not answered in time");
            }
        }
        catch (Exception)
        {
            // Answered with an error: nothing to do.
        }
    }
}
