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
    private readonly FileTransferManager _manager;
    private int _answered;

    internal IncomingFileOffer(FileTransferManager manager, Jid from, SiOffer offer)
    {
        _manager = manager;
        From = from;
        Offer = offer;
        SafeName = SafeFileName.From(offer.File.Name);
    }

    /// <summary>The sender's full JID.</summary>
    public Jid From { get; }

    /// <summary>The stream id of the offer.</summary>
    public string Sid => Offer.Sid;

    /// <summary>Name, size, hashes, description as offered.</summary>
    public FileOfferDescription File => Offer.File;

    /// <summary>The offered name reduced to a plain, safe file name (what we save as, unless it exists).</summary>
    public string SafeName { get; }

    /// <summary>The stream methods the sender offered.</summary>
    public IReadOnlyList<string> Methods => Offer.Methods;

    internal SiOffer Offer { get; }

    internal TaskCompletionSource<XElement?> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Accepts into <paramref name="directory"/>: answers the offer (with a range when a matching
    /// partial exists), receives into <c>name.part</c>, verifies size and hashes, then renames to the
    /// final name. Returns when the file is complete and verified.
    /// </summary>
    public Task<FileTransferResult> AcceptAsync(
        string directory, FileReceiveOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            throw new InvalidOperationException("This offer was already answered.");
        }

        return _manager.ReceiveAsync(this, directory, options ?? FileReceiveOptions.Default, progress, cancellationToken);
    }

    /// <summary>Declines the offer (XEP-0095 §3.2: forbidden).</summary>
    public Task DeclineAsync(string? reason = null, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _answered, 1) == 0)
        {
            FileTransferLog.Declined(_manager.Logger, Sid, From.ToString(), reason ?? "by the user");
            Response.TrySetException(new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "forbidden", reason ?? "Offer Declined")));
        }

        return Task.CompletedTask;
    }

    internal bool TryClaim() => Interlocked.Exchange(ref _answered, 1) == 0;

    internal void StartTimeout(TimeSpan timeout) => _ = DeclineAfterAsync(timeout);

    private async Task DeclineAfterAsync(TimeSpan timeout)
    {
        try
        {
            await Response.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await DeclineAsync("Offer not answered in time").ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Answered with an error: nothing to do.
        }
    }
}
