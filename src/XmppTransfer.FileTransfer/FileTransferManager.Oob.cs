using System.Diagnostics;
using System.Threading.Channels;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

public sealed partial class FileTransferManager
{
    private static readonly XName s_oobX = XName.Get("x", Namespaces.OobX);
    private readonly Channel<OobLink> _links = Channel.CreateBounded<OobLink>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });

    /// <summary>
    /// <c>jabber:x:oob</c> links that arrive in messages (for example files shared by HTTP upload),
    /// from accepted senders. Nothing is downloaded unless the application calls <see cref="DownloadLinkAsync"/>.
    /// </summary>
    public IAsyncEnumerable<OobLink> ReceiveLinksAsync(CancellationToken cancellationToken = default) => _links.Reader.ReadAllAsync(cancellationToken);

    /// <summary>
    /// Sends a file by Out-of-Band Data (XEP-0066): serves it over HTTP under a one-time path and
    /// sends the URL; the receiver downloads it and answers when done. Serving stops afterwards. A FIFO, a socket or a
    /// device is refused as by <see cref="SendFileAsync"/>.
    /// </summary>
    /// <remarks>
    /// The HTTP download does not need our XMPP session, but the receiver's answer does. When the session ends before the
    /// answer, serving stops at once if no download is under way; one under way is served on until it ends, until no byte
    /// has been served for <see cref="OobOptions.InactivityTimeout"/>, or until <see cref="OobOptions.ServeDeadline"/>
    /// (counted from the offer) has passed. If a download has then served the file through its last byte (before or after
    /// the session ended), this throws a <see cref="FileTransferException"/> of kind
    /// <see cref="FileTransferErrorKind.Unconfirmed"/> (its inner exception is the session's error): the receiver may well
    /// have the file, but only its answer would say so, and it cannot come. Otherwise the session's own error is thrown, as
    /// for any request on a closed stream (the offer's sid in its <see cref="Exception.Data"/>, as for an SI offer).
    /// </remarks>
    public async Task<FileTransferResult> SendOobAsync(
        Jid to, string path, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SendableFile.EnsureNotSpecial(path);
        options ??= FileSendOptions.Default;
        options.Validate();
        var oob = options.Oob ?? Options.Oob;
        var (peer, _) = await ResolvePeerAsync(to, info => info.HasFeature(Namespaces.OobIq), "out-of-band data (jabber:iq:oob)", cancellationToken)
            .ConfigureAwait(false);

        var size = new FileInfo(path).Length;
        FileHashes? hashes = null;
        if (options.ComputeHashes)
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                hashes = await FileHashes.ComputeAsync(file, includeMd5: false, cancellationToken).ConfigureAwait(false);
            }
        }

        var name = Path.GetFileName(path);
        var reporter = new ProgressReporter(progress, name, size, 0, Options.ProgressInterval) { Method = TransferMethod.Oob };
        var clock = Stopwatch.StartNew();
        var server = await OobHttpServer.StartAsync(path, name, oob, n => reporter.Report(n), cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            var sid = NewSid();
            var query = new OobQuery(server.Url, options.Description, sid, hashes?.Sha256);
            FileTransferLog.Offering(Logger, name, size, peer.ToString(), sid, Namespaces.OobIq);

            // The sid of the last offer sent: a busy receiver's retry sends another, and a refusal is about the last one. Its
            // answer is waited for up to the serve deadline from when it was sent.
            var sent = sid;
            var offeredAt = Options.TimeProvider.GetTimestamp();
            try
            {
                // A busy receiver (its queue of offers is full) is offered the link again, with a new sid, as an SI offer is; the
                // server keeps serving meanwhile, since nobody has downloaded yet.
                (_, sid) = await OfferWhileBusyAsync(
                        peer,
                        sid,
                        s =>
                        {
                            sent = s;
                            offeredAt = Options.TimeProvider.GetTimestamp();
                            return (query with { Sid = s }).ToXml();
                        },
                        oob.ServeDeadline,
                        options,
                        name,
                        size,
                        progress,
                        cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (XmppStanzaErrorException ex)
            {
                throw WithSid(
                    ex.Error.Condition switch
                    {
                        "not-acceptable" or "forbidden" => new FileTransferException(FileTransferErrorKind.Declined, $"{peer} declined the file.", ex),
                        "item-not-found" => new FileTransferException(FileTransferErrorKind.TransferFailed, DownloadFailed(peer, server.Url, ex.Error.Text), ex),

                        // The SI wording would be wrong here: what the receiver lacks is XEP-0066's jabber:iq:oob.
                        "feature-not-implemented" => new FileTransferException(
                            FileTransferErrorKind.NotSupported, $"{peer} does not accept out-of-band data (XEP-0066, {ex.Error.Condition}).", ex),
                        _ => OfferRefused(peer, ex),
                    },
                    sent);
            }
            catch (XmppException ex) when (ex.Kind == XmppErrorKind.Timeout)
            {
                throw WithSid(
                    new FileTransferException(FileTransferErrorKind.Timeout, $"{peer} did not finish downloading within {oob.ServeDeadline.TotalMinutes:0} min.", ex),
                    sent);
            }
            catch (XmppException ex) when (ex is XmppConnectionException or XmppStreamErrorException || (ex is not FileTransferException && Session.Completion.IsCompleted))
            {
                // Our session ended before the receiver's answer. The download does not need it: one under way is served on
                // (bounded, see the remarks), and one that got every byte is at least not a failure to pretend about.
                if (server.IsServing || server.ServedInFull)
                {
                    var left = oob.ServeDeadline == Timeout.InfiniteTimeSpan
                        ? Timeout.InfiniteTimeSpan
                        : oob.ServeDeadline - Options.TimeProvider.GetElapsedTime(offeredAt);
                    if (await server.FinishServingAsync(left, Options.TimeProvider, cancellationToken).ConfigureAwait(false))
                    {
                        reporter.Report(server.BytesServed, force: true);
                        var unconfirmed = new FileTransferException(
                            FileTransferErrorKind.Unconfirmed,
                            $"{name} was served to {peer} in full, but our XMPP session ended ({SessionEndReason(ex)}) before {peer} could confirm the download, so it may not have saved the file.",
                            ex);
                        FileTransferLog.Failed(Logger, sent, peer.ToString(), unconfirmed.Message);
                        throw WithSid(unconfirmed, sent);
                    }
                }

                // As any request on a closed stream fails: the session's own error, naming the offer made.
                ex.Data[FileTransferException.OfferSidKey] = sent;
                throw;
            }

            reporter.Report(size, force: true);
            FileTransferLog.Completed(Logger, sid, peer.ToString(), server.BytesServed, "oob", clock.Elapsed.TotalSeconds);
            return new FileTransferResult
            {
                Peer = peer,
                Sid = sid,
                FileName = name,
                Path = Path.GetFullPath(path),
                Method = TransferMethod.Oob,
                Size = size,
                BytesTransferred = server.BytesServed,
                ResumedFrom = Math.Max(0, size - server.BytesServed),
                Duration = clock.Elapsed,
                Sha256 = hashes?.Sha256Hex,
                Md5 = hashes?.Md5,
            };
        }
    }

    /// <summary>Downloads a <c>jabber:x:oob</c> link into <paramref name="directory"/> (same safety rules as offers).</summary>
    public async Task<FileTransferResult> DownloadLinkAsync(
        OobLink link, string directory, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(link);
        var offer = new IncomingFileOffer(this, link.From, new OobQuery(link.Url, link.Description), Stanza.NewId());
        offer.TryClaim();
        var identity = new PartialFile { Sender = link.From.Bare.ToString(), Name = offer.File.Name, Size = -1 };
        return await ReceiveIntoAsync(
                offer,
                directory,
                answersOffer: false,
                resumable: null, // A link has no hash to prove a part is its file: it is never resumed.
                partName => ReceiveOobAsync(offer, directory, partName, identity, FileReceiveOptions.Default, progress, cancellationToken))
            .ConfigureAwait(false);
    }

    private void AttachOob(XmppSession session)
    {
        session.Disco.AddFeature(Namespaces.OobIq);
        session.Disco.AddFeature(Namespaces.OobX);
        session.RegisterIqHandler(OobQuery.Name, IqType.Set, HandleOobOffer);
        session.MessageReceived += HandleOobLink;
    }

    private ValueTask<XElement?> HandleOobOffer(XElement iq, CancellationToken cancellationToken)
    {
        var from = Stanza.GetFrom(iq) ?? throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer has no sender."));
        var query = OobQuery.Parse(iq.Element(OobQuery.Name)!);
        if (!IsAcceptedSender(from))
        {
            FileTransferLog.Declined(Logger, query.Sid ?? "-", from.ToString(), "sender not on the accept list");
            RaiseDeclined(new DeclinedOffer(
                from, query.Sid ?? (string?)iq.Attribute("id") ?? "-", new FileOfferDescription(query.SuggestedName, -1) { Description = query.Description }, OfferDeclineReason.SenderNotAccepted));
            throw new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Modify, "not-acceptable", "Offer Declined"));
        }

        var incoming = new IncomingFileOffer(this, from, query, (string?)iq.Attribute("id") ?? Stanza.NewId());
        Enqueue(incoming);
        return new ValueTask<XElement?>(incoming.Response.Task);
    }

    private void HandleOobLink(XElement message)
    {
        var from = Stanza.GetFrom(message);
        foreach (var x in message.Elements(s_oobX))
        {
            var text = x.Element(XName.Get("url", Namespaces.OobX))?.Value.Trim();
            if (from is not null && IsAcceptedSender(from) && Uri.TryCreate(text, UriKind.Absolute, out var url)
                && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
            {
                _links.Writer.TryWrite(new OobLink(from, url, x.Element(XName.Get("desc", Namespaces.OobX))?.Value));
            }
        }
    }

    /// <summary>
    /// Downloads an out-of-band offer into <c>name.part</c> through the same pipeline as a bytestream receive
    /// (<see cref="FileSink"/>: pooled buffers, ordered writes, SHA-256 on another thread), preallocated when the size is
    /// announced. A matching part is hashed first: when it already has the offered SHA-256 it is the whole file and is
    /// finalised without a request; otherwise it is resumed with a Range request. A server that ignores the range sends the
    /// whole file again; one that refuses it (416) because the file is no longer than the part proves the part is no prefix
    /// of the file, and the whole file is downloaded over it, once (as the SI receive overwrites a part longer than the
    /// offered size, see <see cref="PartialFile.ResumableLength"/>). A failed download keeps exactly the bytes that arrived,
    /// for the next offer of the same file; a body that fails its hash or runs past the size it announced is deleted.
    /// </summary>
    private async Task<FileTransferResult> ReceiveOobAsync(
        IncomingFileOffer offer, string directory, string partName, PartialFile identity, FileReceiveOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var partPath = PartialFile.DataPath(directory, partName);
        var savingAs = SavingAs(directory, offer, options);
        var clock = Stopwatch.StartNew();
        using var hashing = ReceiveHashing.For(identity, options.ComputeSha256);
        var resumeFrom = options.Resume && identity.Sha256 is not null ? PartialFile.ResumableLength(directory, partName, identity) : 0;
        long received;

        // The part's open file, from the write (or the check of a whole part) to publication: the file saved is the one
        // hashed through it, whatever its name leads to by then (PartNames.CommitAsync).
        FileStream? part = null;
        try
        {
            // Hashed before the request, so the server is not left waiting while we re-read a large part.
            if (resumeFrom > 0 && !await ResumeCheckAsync(offer, () => hashing.TryAppendPrefixAsync(partPath, resumeFrom, cancellationToken)).ConfigureAwait(false))
            {
                resumeFrom = 0;
            }

            // A receive that stopped after the last byte but before the rename left the whole file: there is nothing to
            // download (a range from its length gets 416 from any server), and its hash, checked below as for every
            // receive, proves it. The offer carries no size, so only the hash can tell a whole part from a partial one.
            if (resumeFrom > 0 && hashing.HasSha256(identity.Sha256))
            {
                received = 0;
                part = PartData.Open(partPath, resumeFrom, 0, Logger, hashing.Part);
                new ProgressReporter(progress, savingAs, resumeFrom, resumeFrom, Options.ProgressInterval) { Method = TransferMethod.Oob }.Report(resumeFrom, force: true);
            }
            else
            {
                (resumeFrom, received, part) = await DownloadOobAsync(offer, directory, partName, identity, hashing, resumeFrom, savingAs, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (FileTransferException ex)
        {
            offer.Response.TrySetException(new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "item-not-found", ex.Message)));
            if (part is not null)
            {
                await part.DisposeAsync().ConfigureAwait(false);
            }

            if (ex.ErrorKind == FileTransferErrorKind.IntegrityCheckFailed)
            {
                PartialFile.Delete(directory, partName);
            }

            throw;
        }
        catch (OperationCanceledException)
        {
            offer.Response.TrySetException(new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "item-not-found", "Download cancelled")));
            if (part is not null)
            {
                await part.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        var total = resumeFrom + received;
        string finalPath;
        string? sha;
        try
        {
            sha = hashing.Sha256 is null ? null : Convert.ToHexStringLower(hashing.Sha256.GetHashAndReset());
            if (identity.Sha256 is not null && identity.Sha256 != sha)
            {
                await part.DisposeAsync().ConfigureAwait(false);
                PartialFile.Delete(directory, partName);
                offer.Response.TrySetException(new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "item-not-found", "SHA-256 mismatch")));
                throw new FileTransferException(FileTransferErrorKind.IntegrityCheckFailed, $"{offer.SafeName} from {offer.From} failed its SHA-256 check; the data was discarded.");
            }

            finalPath = await PartNames.CommitAsync(directory, partName, offer.SafeName, options.Overwrite, part, Logger, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // CommitAsync closed it already on success; a failure keeps the part for resuming.
            await part.DisposeAsync().ConfigureAwait(false);
        }

        offer.Response.TrySetResult(null);
        FileTransferLog.Completed(Logger, offer.Sid, offer.From.ToString(), received, "oob", clock.Elapsed.TotalSeconds);
        return new FileTransferResult
        {
            Peer = offer.From,
            Sid = offer.Sid,
            FileName = Path.GetFileName(finalPath),
            Path = finalPath,
            Method = TransferMethod.Oob,
            Size = total,
            BytesTransferred = received,
            ResumedFrom = resumeFrom,
            Duration = clock.Elapsed,
            Sha256 = sha,
            Verified = identity.Sha256 is not null,
        };
    }

    /// <summary>
    /// The download proper: asks for the bytes from <paramref name="resumeFrom"/> (whose prefix <paramref name="hashing"/>
    /// holds) and writes the body into the part. Returns where the body started (0 when the server sent the whole file
    /// after all), how many bytes it had, and the part, still open (the caller publishes it by that open file).
    /// </summary>
    private async Task<(long From, long Received, FileStream Part)> DownloadOobAsync(
        IncomingFileOffer offer,
        string directory,
        string partName,
        PartialFile identity,
        ReceiveHashing hashing,
        long resumeFrom,
        string savingAs,
        IProgress<FileTransferProgress>? progress,
        CancellationToken cancellationToken)
    {
        var partPath = PartialFile.DataPath(directory, partName);
        using var downloader = new OobDownloader(Options.Oob);
        using var download = await downloader.StartAsync(offer.Url!, resumeFrom, cancellationToken).ConfigureAwait(false);
        if (download.Offset != resumeFrom)
        {
            // The server ignored the range, or refused it because the part is no prefix of the file: the whole file comes
            // again, hashed from nothing, and overwrites the part.
            hashing.Reset();
            resumeFrom = download.Offset;
        }

        // As the SI receive does before it answers: a file the disk cannot hold is refused before the part is opened (a
        // fresh one would be truncated and preallocated), so any part stays as it was. The offer carries no size; the
        // server's answer is the first we hear of it, and without one the write itself finds a full disk. A download from
        // 0 overwrites the part, so the space it holds counts as free.
        if (download.Total is { } total && !DiskSpace.HasRoomFor(directory, partPath, total, resumeFrom, FreeSpace))
        {
            // XEP-0066's refusal (not-acceptable), as an SI receive declines: the sender hears it was turned down, not
            // that its URL failed.
            offer.Response.TrySetException(new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Modify, "not-acceptable", "Not enough disk space")));
            throw new FileTransferException(FileTransferErrorKind.Refused, DiskSpace.Shortage(directory, total - resumeFrom));
        }

        var reporter = new ProgressReporter(progress, savingAs, download.Total ?? -1, resumeFrom, Options.ProgressInterval) { Method = TransferMethod.Oob };
        long received;
        var part = PartData.Open(partPath, resumeFrom, download.Total - resumeFrom ?? 0, Logger, hashing.Part);
        try
        {
            identity.Save(directory, partName, Logger);
            if (resumeFrom > 0)
            {
                // The prefix was hashed; anything past it is not ours to trust.
                part.SetLength(resumeFrom);
            }

            var sink = new FileSink(part.SafeFileHandle, resumeFrom, offer.SafeName, hashing.Sha256, null, Options.CopyBufferSize, stallTimeout: Options.WriteStallTimeout, time: Options.TimeProvider);
            await using (sink.ConfigureAwait(false))
            {
                try
                {
                    received = await download.CopyToAsync(sink, n => reporter.Report(n), cancellationToken).ConfigureAwait(false);
                    await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // Keep every byte that arrived, exactly, and free the space preallocated beyond it.
                    await PartData.SettleAsync(sink, part, cancellationToken).ConfigureAwait(false);
                    throw;
                }
            }
        }
        catch
        {
            await part.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        reporter.Report(resumeFrom + received, force: true);
        return (resumeFrom, received, part);
    }

    /// <summary>Why our session ended, in words: its own fault when it has one, else the error the request got.</summary>
    private string SessionEndReason(XmppException requestError)
    {
        var reason = Session.Completion is { IsFaulted: true } completion ? completion.Exception?.InnerException ?? requestError : requestError;
        return reason.Message.TrimEnd('.');
    }

    /// <summary>
    /// A receiver's "could not download" answer: its text says why, and often names the URL itself (ours: "Refusing to
    /// download URL: ..."), in which case the URL is not said twice.
    /// </summary>
    internal static string DownloadFailed(Jid peer, Uri url, string? text)
    {
        var why = text?.Trim().TrimEnd('.');
        if (string.IsNullOrEmpty(why))
        {
            return $"{peer} could not download {url} (item-not-found).";
        }

        return why.Contains(url.ToString(), StringComparison.Ordinal) ? $"{peer} did not download the file: {why}." : $"{peer} could not download {url}: {why}.";
    }
}
