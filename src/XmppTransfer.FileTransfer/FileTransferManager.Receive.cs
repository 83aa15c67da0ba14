using System.Diagnostics;
using XmppTransfer.Bytestreams;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

public sealed partial class FileTransferManager
{
    private readonly FallbackWaiters _awaitingFallback;

    internal Task<FileTransferResult> ReceiveAsync(
        IncomingFileOffer offer, string directory, FileReceiveOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var identity = new PartialFile
        {
            Sender = offer.From.Bare.ToString(),
            Name = offer.File.Name,
            Size = offer.File.Size,
            Md5 = offer.File.Md5,
            Sha256 = offer.File.Sha256 is null ? null : Convert.ToHexStringLower(offer.File.Sha256),
        };

        // The conditions under which each receive path resumes from a part (see ReceiveOnceAsync and ReceiveOobAsync): only
        // then does the lease look for a part of this file, under an alternate name as well as the primary one.
        var resumes = options.Resume && (offer.OobQuery is not null ? identity.Sha256 is not null : offer.File.SupportsRange);
        return ReceiveIntoAsync(offer, directory, answersOffer: true, resumes ? identity : null, partName => offer.OobQuery is not null
            ? ReceiveOobAsync(offer, directory, partName, identity, options, progress, cancellationToken)
            : ReceiveSiAsync(offer, directory, partName, identity, options, progress, cancellationToken));
    }

    /// <summary>
    /// What every receive into a folder (an offer's or a link's) does around the transfer proper: makes the folder, claims
    /// a part name in it for <paramref name="receive"/> (one holding a part of <paramref name="resumable"/> if there is one
    /// free, see <see cref="PartNames.Take"/>), and reports disk errors (<see cref="IOException"/>,
    /// <see cref="UnauthorizedAccessException"/>) out of any of it as a <see cref="FileTransferException"/> (LocalIo), as
    /// every other failure of a receive is. With <paramref name="answersOffer"/> a failure also declines the offer if it
    /// was not answered yet, else its sender would wait out its offer timeout; a link has nobody waiting for an answer.
    /// </summary>
    private static async Task<FileTransferResult> ReceiveIntoAsync(
        IncomingFileOffer offer, string directory, bool answersOffer, PartialFile? resumable, Func<string, Task<FileTransferResult>> receive)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Refuse(offer, answersOffer, "Cannot write here");
            throw new FileTransferException(FileTransferErrorKind.LocalIo, $"Cannot use {directory}: {ex.Message}", ex);
        }

        using var part = PartNames.Take(directory, offer.SafeName, resumable);
        try
        {
            return await receive(part.Name).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The disk, not the peer.
            Refuse(offer, answersOffer, "Cannot write the file");
            throw new FileTransferException(FileTransferErrorKind.LocalIo, $"Receiving {offer.SafeName} into {directory} failed: {ex.Message}", ex);
        }
        catch
        {
            Refuse(offer, answersOffer, "Cannot receive the file");
            throw;
        }

        static void Refuse(IncomingFileOffer offer, bool answersOffer, string reason)
        {
            if (answersOffer)
            {
                offer.Refuse(reason);
            }
        }
    }

    private async Task<FileTransferResult> ReceiveSiAsync(
        IncomingFileOffer offer, string directory, string partName, PartialFile identity, FileReceiveOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var current = offer;
        while (true)
        {
            // Armed before S5B is even tried: the sender's IBB re-offer may overtake our own failure report (or come before
            // any streamhost, when the sender had none to offer).
            var fallback = WillUseSocks5(current, options) ? ArmFallback(identity, current.From) : null;
            try
            {
                return await ReceiveOnceAsync(current, directory, partName, identity, options, fallback, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (FileTransferException ex) when (fallback is not null && ex.Data.Contains(Socks5FailureMarker))
            {
                // The sender falls back with a fresh IBB-only offer of the same file; take it ourselves. A sender that offered
                // SOCKS5 alone does not fall back (ours does not): a re-offer already here is taken, none is waited for, so
                // its failed receive ends at once instead of after FallbackWait.
                IncomingFileOffer? next;
                if (current.Methods.Contains(StreamMethods.Ibb))
                {
                    next = await WaitForFallbackOfferAsync(fallback, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    next = Withdraw(fallback);
                    _ = next?.TryClaim();
                }

                if (next is null && Session.Completion.IsCompleted)
                {
                    // Said at once, and why: our own session ended (after the SOCKS5 bytestream failed, or while we waited for
                    // the re-offer), so nothing in band can reach us any more.
                    throw new FileTransferException(
                        ex.ErrorKind, $"Our XMPP session ended, so no in-band re-offer of {current.SafeName} can reach us: {ex.Message}", ex);
                }

                if (next is null && fallback.SenderGone.IsCompleted)
                {
                    // Said at once, and why: the sender's presence went unavailable, so no re-offer was waited for.
                    throw new FileTransferException(
                        ex.ErrorKind, $"{current.From} went offline, so no in-band re-offer of {current.SafeName} will come: {ex.Message}", ex);
                }

                if (next is null)
                {
                    throw;
                }

                current = next;
                fallback = null;
            }
            catch when (current != offer)
            {
                // The IBB re-offer we took ourselves: nobody else answers it if we fail before accepting it.
                current.Refuse("Cannot receive the file");
                throw;
            }
            finally
            {
                if (fallback is not null)
                {
                    DisarmFallback(fallback, cancelled: cancellationToken.IsCancellationRequested);
                }
            }
        }
    }

    private bool WillUseSocks5(IncomingFileOffer offer, FileReceiveOptions options) =>
        options.PreferSocks5 && Socks5 is not null && offer.Methods.Contains(StreamMethods.Socks5);

    // reoffer is handed the sender's in-band re-offer of the file (see ReceiveOverSocks5Async); null when none is awaited.
    private async Task<FileTransferResult> ReceiveOnceAsync(
        IncomingFileOffer offer,
        string directory,
        string partName,
        PartialFile identity,
        FileReceiveOptions options,
        FallbackWaiter? reoffer,
        IProgress<FileTransferProgress>? progress,
        CancellationToken cancellationToken)
    {
        var resumeFrom = options.Resume && offer.File.SupportsRange ? PartialFile.ResumableLength(directory, partName, identity) : 0;
        using var hashing = ReceiveHashing.For(identity, options.ComputeSha256);
        var partPath = PartialFile.DataPath(directory, partName);
        if (resumeFrom > 0 && resumeFrom == offer.File.Size)
        {
            // A receive that stopped after the last byte but before the rename left the whole file, or one whose data was
            // wrong left a part of the file's length: only the hash tells which, so it is checked before we answer (a range
            // from the size would get no bytes and fail the hash only after the sender had streamed). The whole file is
            // finalised after the sender sends its last byte again: a range with an offset below the size is what every
            // sender that offers <range/> handles, while an offset equal to the size asks for an empty stream, which
            // XEP-0096 does not describe and a peer may refuse as out of range or answer with the whole file. A part that
            // is not the file is discarded, and the whole file comes from 0 in this same attempt.
            if (await ResumeCheckAsync(offer, () => hashing.TryAppendAllButLastByteAsync(partPath, resumeFrom, identity, cancellationToken)).ConfigureAwait(false))
            {
                resumeFrom--;
            }
            else
            {
                resumeFrom = 0;
                DiscardPart(directory, partName);
            }
        }
        else if (resumeFrom > 0 && !await ResumeCheckAsync(offer, () => hashing.TryAppendPrefixAsync(partPath, resumeFrom, cancellationToken)).ConfigureAwait(false))
        {
            resumeFrom = 0;
        }

        // From 0, any part here is overwritten (a stale, mismatched or over-long one): the space it holds counts as free.
        if (!DiskSpace.HasRoomFor(directory, partPath, offer.File.Size, resumeFrom, FreeSpace))
        {
            offer.Refuse("Not enough disk space");
            throw new FileTransferException(FileTransferErrorKind.Refused, DiskSpace.Shortage(directory, offer.File.Size - resumeFrom));
        }

        var useSocks5 = WillUseSocks5(offer, options);
        var method = useSocks5 ? StreamMethods.Socks5 : StreamMethods.Ibb;
        if (!offer.Methods.Contains(method))
        {
            offer.Response.TrySetException(new Core.XmppStanzaErrorException(new Core.Stanzas.StanzaError(
                Core.Stanzas.StanzaErrorType.Cancel, "bad-request", null, new System.Xml.Linq.XElement(System.Xml.Linq.XName.Get("no-valid-streams", Namespaces.Si)))));
            throw new FileTransferException(FileTransferErrorKind.NotSupported, $"{offer.From} offered no stream method we support.");
        }

        // Register for the bytestream before answering, so an open or offer that follows at once is not missed.
        var socks5Registration = useSocks5 ? Socks5!.Expect(offer.From, offer.Sid) : null;
        var ibbRegistration = useSocks5 ? null : Ibb.Expect(offer.From, offer.Sid);
        var accept = new SiAccept([method], resumeFrom > 0 ? resumeFrom : null);
        offer.Response.TrySetResult(accept.ToXml());
        FileTransferLog.Accepted(Logger, offer.From.ToString(), offer.Sid, method, resumeFrom);

        var clock = Stopwatch.StartNew();
        var reporter = new ProgressReporter(progress, SavingAs(directory, offer, options), offer.File.Size, resumeFrom, Options.ProgressInterval)
        {
            Method = TransferMethod.Ibb,
        };
        if (socks5Registration is not null)
        {
            return await ReceiveOverSocks5Async(offer, socks5Registration, reoffer, directory, partName, identity, resumeFrom, hashing, options, reporter, clock, cancellationToken)
                .ConfigureAwait(false);
        }

        Stream source;
        try
        {
            source = await Ibb.WaitExpectedAsync(offer.From, offer.Sid, ibbRegistration!, cancellationToken).ConfigureAwait(false);
        }
        catch (BytestreamException ex)
        {
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, ex.Message, ex);
        }

        await using (source.ConfigureAwait(false))
        {
            // No presence watch here: the IBB manager ends the stream itself when the sender goes unavailable.
            return await SaveAsync(offer, source, TransferMethod.Ibb, directory, partName, identity, resumeFrom, hashing, options, reporter, clock, CancellationToken.None, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Receives over SOCKS5 (we are the XEP-0065 target): reads until the sender closes. A failure to connect, a broken
    /// connection or an EOF before the offered size is marked as a SOCKS5 failure, so the caller waits for the IBB re-offer.
    /// While no bytestream has come yet, <paramref name="reoffer"/> being handed the IBB re-offer of this file by the very
    /// sender of this offer (the same full JID) abandons the wait at once, marked the same way: a sender that re-offers has
    /// given up on SOCKS5, possibly before it sent us any streamhost (none to offer), and would otherwise wait behind our
    /// negotiation timeout (<see cref="FallbackWaiters"/> hands it to a receive still negotiating only when it is the only
    /// receive of the file, or when no other receive of it failed within the hold). Once the bytestream came no re-offer is
    /// handed to this receive unless its SOCKS5 fails, which it says at once (<see cref="ListenForReoffer"/>). The sender's
    /// full JID going unavailable before any bytestream came ends the wait too, unmarked: nobody is left to send a
    /// streamhost or re-offer; so does our own session ending (also unmarked: no re-offer could reach us).
    /// </summary>
    private async Task<FileTransferResult> ReceiveOverSocks5Async(
        IncomingFileOffer offer,
        Task<Socks5Bytestream> registration,
        FallbackWaiter? reoffer,
        string directory,
        string partName,
        PartialFile identity,
        long resumeFrom,
        ReceiveHashing hashing,
        FileReceiveOptions options,
        ProgressReporter reporter,
        Stopwatch clock,
        CancellationToken cancellationToken)
    {
        Socks5Bytestream bytestream;
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var waiting = Socks5!.WaitExpectedAsync(offer.From, offer.Sid, registration, abandon.Token);
            // A re-offer is matched by bare JID (a sender may come back on another resource), but only the offer's own
            // resource may cut a wait short: another resource of the account, or another occupant of a room (who share its
            // bare JID), offering the same name and size must not take over a healthy receive. Theirs waits, as before,
            // until this attempt ends.
            if (reoffer is not null && await Task.WhenAny(waiting, reoffer.Offered, reoffer.SenderGone).ConfigureAwait(false) is var first && first != waiting)
            {
                if (first == reoffer.Offered && reoffer.HandedOverFrom != offer.From)
                {
                    // Another resource's re-offer waits for this attempt to end; the offer's own sender going unavailable
                    // must still end the wait at once.
                    first = await Task.WhenAny(waiting, reoffer.SenderGone).ConfigureAwait(false);
                }

                // The registration, not the wait around it: the bytestream is handed to the registration on the read loop
                // before our streamhost-used goes out, while the wait completes only once its continuation has run on the
                // pool. A sender that sent its bytes and then went offline (presence read after them) has given us a
                // bytestream all the same; its silence is for the data phase to judge (Socks5PeerGoneGrace).
                if (first == reoffer.SenderGone && !registration.IsCompleted)
                {
                    // Nobody is left to offer a streamhost or to re-offer in band: not a SOCKS5 failure to fall back from.
                    await AbandonSocks5WaitAsync(offer, waiting, abandon, senderGone: true).ConfigureAwait(false);
                }
                else if (first == reoffer.Offered && reoffer.HandedOverFrom == offer.From)
                {
                    await AbandonSocks5WaitAsync(offer, waiting, abandon, senderGone: false).ConfigureAwait(false);
                }
            }

            bytestream = await waiting.ConfigureAwait(false);

            // From now on a re-offer of this file is not for this receive, unless its SOCKS5 fails after all (below).
            reoffer?.MarkFlowing();
        }
        catch (BytestreamException ex) when (ex.ErrorKind == BytestreamErrorKind.PeerUnavailable)
        {
            // The sender went offline during our candidate race (the race ended at once): as when it goes before its offer,
            // nobody is left to re-offer in band, so not a SOCKS5 failure to fall back from.
            throw new FileTransferException(
                FileTransferErrorKind.TransferFailed, $"{offer.From} went offline before any SOCKS5 bytestream came for {offer.SafeName}: {ex.Message}", ex);
        }
        catch (BytestreamException ex) when (ex.ErrorKind == BytestreamErrorKind.Closed && Session.Completion.IsCompleted)
        {
            // Our own session ended (SessionEnd): no streamhost can come, and no in-band re-offer either, so this is not a
            // SOCKS5 failure to fall back from. Unmarked, it ends the receive at once instead of after FallbackWait.
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, ex.Message, ex);
        }
        catch (BytestreamException ex)
        {
            var failure = new FileTransferException(
                ex.ErrorKind == BytestreamErrorKind.Timeout ? FileTransferErrorKind.Timeout : FileTransferErrorKind.TransferFailed, ex.Message, ex);
            failure.Data[Socks5FailureMarker] = true;
            ListenForReoffer(reoffer);
            throw failure;
        }

        await using (bytestream.ConfigureAwait(false))
        {
            var method = bytestream.ViaProxy ? TransferMethod.Socks5Proxy : TransferMethod.Socks5Direct;
            reporter.Method = method;
            try
            {
                return await SaveAsync(
                    offer, bytestream.Stream, method, directory, partName, identity, resumeFrom, hashing, options, reporter, clock, bytestream.PeerUnavailable, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (FileTransferException ex) when (ex.ErrorKind is FileTransferErrorKind.TransferFailed)
            {
                // Cut short: the part is kept, and the sender's IBB re-offer resumes from it. Not on our inactivity timeout:
                // a sender that went silent will not re-offer either.
                ex.Data[Socks5FailureMarker] = true;
                ListenForReoffer(reoffer);
                throw;
            }
        }
    }

    /// <summary>
    /// Says at once, before the failure unwinds (closing the bytestream and the part takes a while), that this receive's
    /// SOCKS5 failed: a re-offer of its file that came first, and is held for the receive about to fail, goes to it now.
    /// </summary>
    private void ListenForReoffer(FallbackWaiter? reoffer)
    {
        if (reoffer is not null)
        {
            _awaitingFallback.Listen(reoffer);
        }
    }

    /// <summary>
    /// Stops waiting for a SOCKS5 bytestream the sender has given up on (its IBB re-offer is here), and throws the SOCKS5
    /// failure that makes <see cref="ReceiveSiAsync"/> take the re-offer. The wait ends within its own bounds once cancelled;
    /// a bytestream that connected in the same instant is stale (the sender re-offered) and is closed.
    /// </summary>
    private async Task AbandonSocks5WaitAsync(IncomingFileOffer offer, Task<Socks5Bytestream> waiting, CancellationTokenSource abandon, bool senderGone)
    {
        FileTransferLog.Socks5WaitAbandoned(Logger, offer.Sid, offer.From.ToString());
        await abandon.CancelAsync().ConfigureAwait(false);
        try
        {
            var stale = await waiting.ConfigureAwait(false);
            await stale.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or BytestreamException)
        {
            // The wait we cancelled, or a failure it reached first: either way nothing to close.
        }

        if (senderGone)
        {
            throw new FileTransferException(
                FileTransferErrorKind.TransferFailed, $"{offer.From} went offline before any SOCKS5 bytestream came for {offer.SafeName}.");
        }

        var failure = new FileTransferException(
            FileTransferErrorKind.TransferFailed, $"{offer.From} re-offered {offer.SafeName} in band before any SOCKS5 bytestream came for {offer.Sid}.");
        failure.Data[Socks5FailureMarker] = true;
        throw failure;
    }

    private async Task<FileTransferResult> SaveAsync(
        IncomingFileOffer offer,
        Stream source,
        TransferMethod method,
        string directory,
        string partName,
        PartialFile identity,
        long resumeFrom,
        ReceiveHashing hashing,
        FileReceiveOptions options,
        ProgressReporter reporter,
        Stopwatch clock,
        CancellationToken peerUnavailable,
        CancellationToken cancellationToken)
    {
        var partPath = PartialFile.DataPath(directory, partName);
        var sha256 = hashing.Sha256;
        var md5 = hashing.Md5;

        // A socket bytestream (SOCKS5) has no inactivity timer of its own (IBB has): a silent sender must not hold us forever.
        var socket = source is System.Net.Sockets.NetworkStream;
        using var watchdog = new InactivityWatchdog(socket ? Options.Socks5InactivityTimeout : Timeout.InfiniteTimeSpan, cancellationToken, Options.TimeProvider);

        // The sender's unavailable presence (SOCKS5), as on the sending side: it is probably gone, but may be invisible or
        // still sending, so the receive goes on only while bytes keep coming (Socks5PeerGoneGrace of silence ends it with
        // PeerUnavailable, not the inactivity timeout). A presence seen before this point shortens at once.
        using var peerGone = peerUnavailable.Register(static state => ((InactivityWatchdog)state!).Shorten(Socks5PeerGoneGrace), watchdog);
        var expected = offer.File.Size - resumeFrom;
        long received = 0;
        // Kept open from the first byte to publication: the file saved is the one written and hashed through this handle,
        // whatever its name leads to by then (PartNames.CommitAsync), and its lock keeps other receives off it until then.
        var part = PartData.Open(partPath, resumeFrom, expected, Logger, hashing.Part);
        try
        {
            try
            {
                identity.Save(directory, partName, Logger);
                if (resumeFrom > 0)
                {
                    // The prefix was hashed before we answered; anything past it is not ours to trust.
                    part.SetLength(resumeFrom);
                }

                var finished = false;
                if (sha256 is null && md5 is null && Options.ZeroCopyReceive && source is System.Net.Sockets.NetworkStream network)
                {
                    (received, finished) = await SpliceAsync(offer, network.Socket, part, expected, resumeFrom, watchdog, reporter, cancellationToken).ConfigureAwait(false);
                }

                if (!finished)
                {
                    // The ordinary way, or the rest of a receive whose file system could not splice.
                    var start = resumeFrom + received;
                    var sink = new FileSink(part.SafeFileHandle, start, offer.SafeName, sha256, md5, Options.CopyBufferSize, stallTimeout: Options.WriteStallTimeout, time: Options.TimeProvider);
                    await using (sink.ConfigureAwait(false))
                    {
                        try
                        {
                            received += await PumpAsync(offer, source, sink, socket, expected - received, start, watchdog, reporter, cancellationToken).ConfigureAwait(false);
                            await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch
                        {
                            // Keep every byte that arrived, exactly: finish the writes, then cut the part to what is on disk (which also
                            // frees the space preallocated beyond it).
                            await PartData.SettleAsync(sink, part, cancellationToken).ConfigureAwait(false);
                            throw;
                        }
                    }
                }

                if (method == TransferMethod.Socks5Proxy && expected == 0)
                {
                    await AwaitSenderCloseAsync(offer, source, watchdog, cancellationToken).ConfigureAwait(false);
                }

                if (received != expected)
                {
                    part.SetLength(resumeFrom + received);
                    throw new FileTransferException(
                        FileTransferErrorKind.TransferFailed,
                        $"{offer.From} closed the stream after {resumeFrom + received} of {offer.File.Size} bytes of {offer.SafeName}; the part is kept for resuming.");
                }
            }
            catch (FileTransferException ex) when (ex.ErrorKind == FileTransferErrorKind.IntegrityCheckFailed)
            {
                // The sender sent more than it offered: its bytes do not make the file it described, so none of them is kept to
                // be resumed from, as after a failed hash (the out-of-band download treats a body longer than announced alike).
                await part.DisposeAsync().ConfigureAwait(false);
                PartialFile.Delete(directory, partName);
                throw;
            }

            reporter.Report(resumeFrom + received, force: true);
            var sha = sha256 is null ? null : Convert.ToHexStringLower(sha256.GetHashAndReset());
            var md5Hex = md5 is null ? null : Convert.ToHexStringLower(md5.GetHashAndReset());
            var shaMismatch = identity.Sha256 is not null && identity.Sha256 != sha;
            var md5Mismatch = identity.Md5 is not null && md5Hex is not null && !string.Equals(identity.Md5, md5Hex, StringComparison.OrdinalIgnoreCase);
            if (shaMismatch || md5Mismatch)
            {
                // Corrupt data must neither keep a final name nor be resumed from.
                await part.DisposeAsync().ConfigureAwait(false);
                PartialFile.Delete(directory, partName);
                throw new FileTransferException(
                    FileTransferErrorKind.IntegrityCheckFailed,
                    $"{offer.SafeName} from {offer.From} failed its {(shaMismatch ? "SHA-256" : "MD5")} check; the data was discarded.");
            }

            var finalPath = await PartNames.CommitAsync(directory, partName, offer.SafeName, options.Overwrite, part, Logger, cancellationToken).ConfigureAwait(false);
            FileTransferLog.Completed(Logger, offer.Sid, offer.From.ToString(), received, method.ToShortName(), clock.Elapsed.TotalSeconds);
            return Result(finalPath, sha, md5Hex);
        }
        finally
        {
            // Closed on every other way out (a failure keeps the part for resuming); CommitAsync closed it already on success.
            await part.DisposeAsync().ConfigureAwait(false);
        }

        FileTransferResult Result(string finalPath, string? sha, string? md5Hex) => new()
        {
            Peer = offer.From,
            Sid = offer.Sid,
            FileName = Path.GetFileName(finalPath),
            Path = finalPath,
            Method = method,
            Size = offer.File.Size,
            BytesTransferred = received,
            ResumedFrom = resumeFrom,
            Duration = clock.Elapsed,
            Sha256 = sha,
            Md5 = md5Hex,
            Verified = identity.Sha256 is not null || identity.Md5 is not null,
        };
    }

    /// <summary>The name a receive's progress reports give the file: the one it would be saved under if it finished now.</summary>
    private static string SavingAs(string directory, IncomingFileOffer offer, FileReceiveOptions options) =>
        Path.GetFileName(PartNames.FinalPath(directory, offer.SafeName, options.Overwrite));

    /// <summary>
    /// Arms a wait for the re-offer of the file. A second receive of the very same file at once (same sender, name, size
    /// and hashes) gets its own wait too, so it falls back in band and hears its sender leave as the first does; which of
    /// the two a re-offer goes to is <see cref="FallbackWaiters"/>'s rule.
    /// </summary>
    private FallbackWaiter ArmFallback(PartialFile identity, Jid sender)
    {
        var waiter = new FallbackWaiter(FallbackKey(identity.Sender, identity.Name, identity.Size, identity.Md5, identity.Sha256), sender);
        _awaitingFallback.Add(waiter);
        return waiter;
    }

    /// <summary>
    /// Stops waiting for a re-offer. One that was handed over all the same (the same file offered again just as this
    /// receive finished) is admitted as a new offer: left alone it would never be answered, and its sender would wait out
    /// its offer timeout.
    /// </summary>
    private void DisarmFallback(FallbackWaiter waiter, bool cancelled = false)
    {
        if (Withdraw(waiter, cancelled) is not { } unused)
        {
            return;
        }

        Release(unused, cancelled);
    }

    /// <summary>
    /// What becomes of an offer taken as a re-offer that no receive took in the end (see <see cref="DisarmFallback"/> and
    /// <see cref="FallbackWaiters"/>): declined when the user stopped the receive it was for, else admitted as a new offer.
    /// </summary>
    private void Release(IncomingFileOffer unused, bool cancelled)
    {
        if (cancelled)
        {
            // The user stopped this receive: the sender's re-offer of it is not offered to the application again.
            unused.Refuse("Cancelled by the receiver");
        }
        else
        {
            Readmit(unused);
        }
    }

    /// <summary>Admits an unused re-offer as a new offer: left alone it would never be answered, and its sender would wait out its offer timeout.</summary>
    private void Readmit(IncomingFileOffer unused)
    {
        FileTransferLog.ReofferReadmitted(Logger, unused.Sid, unused.From.ToString());
        try
        {
            Admit(unused);
        }
        catch (Core.XmppStanzaErrorException ex)
        {
            unused.Response.TrySetException(ex);
        }
    }

    private async Task<IncomingFileOffer?> WaitForFallbackOfferAsync(FallbackWaiter waiter, CancellationToken cancellationToken)
    {
        try
        {
            // A sender whose presence went unavailable (even before this wait began) will not re-offer, and nothing reaches us
            // once our own session ended (however it ended: WhenAny does not rethrow its fault): no wait at all.
            _awaitingFallback.Listen(waiter);
            await Task.WhenAny(waiter.Offered, waiter.SenderGone, Session.Completion).WaitAsync(Options.FallbackWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Take says whether one came after all.
        }
        catch (OperationCanceledException)
        {
            DisarmFallback(waiter, cancelled: true);
            throw;
        }

        var offer = Withdraw(waiter);

        // Never seen by the application, so always ours to claim: no DeclineAsync or timeout can answer it now.
        _ = offer?.TryClaim();
        return offer;
    }

    /// <summary>
    /// The sender of a file we wait to be re-offered went unavailable (its full JID's unavailable presence, seen only when we
    /// share presence with it or it sent us presence): its wait ends at once (docs/timeouts.md).
    /// </summary>
    private void HandleSenderPresence(System.Xml.Linq.XElement presence)
    {
        if (_awaitingFallback.IsEmpty || Core.Stanzas.Stanza.GetUnavailableFullJid(presence) is not { } from)
        {
            return;
        }

        _awaitingFallback.OnUnavailable(from);
    }

    /// <summary>Stops routing re-offers to <paramref name="waiter"/> and returns the one handed over, if any (once).</summary>
    private IncomingFileOffer? Withdraw(FallbackWaiter waiter, bool cancelled = false)
    {
        _awaitingFallback.Remove(waiter, cancelled);
        return waiter.Take();
    }

    /// <summary>
    /// Hands an offer to the receive of the same file that waits for its re-offer. Only an offer without SOCKS5 can be one
    /// (the sender falls back because SOCKS5 failed): the same file offered again with SOCKS5 is a second, new offer.
    /// </summary>
    private bool TryRouteFallback(IncomingFileOffer incoming)
    {
        if (incoming.Methods.Contains(StreamMethods.Socks5) || _awaitingFallback.IsEmpty)
        {
            return false;
        }

        var file = incoming.File;
        var key = FallbackKey(incoming.From.Bare.ToString(), file.Name, file.Size, file.Md5, file.Sha256 is null ? null : Convert.ToHexStringLower(file.Sha256));
        if (_awaitingFallback.TryHandOver(key, incoming))
        {
            FileTransferLog.ReofferRouted(Logger, incoming.Sid, incoming.From.ToString());
            return true;
        }

        return false;
    }

    private static string FallbackKey(string sender, string name, long size, string? md5, string? sha256) =>
        string.Join('\n', sender, name, size.ToString(System.Globalization.CultureInfo.InvariantCulture), md5, sha256);

    /// <summary>
    /// Moves bytes from the bytestream into the sink until the offered size (socket bytestreams: then we stop reading, as
    /// some senders wait for our close rather than close first) or the end of the stream. Socket bytestreams fill a whole
    /// buffer before handing it on (fewer, larger writes); message-based ones (IBB) go block by block so a sender that sends
    /// more than it offered is stopped early. What was read when a failure strikes is committed first, so it is kept.
    /// </summary>
    private static async Task<long> PumpAsync(
        IncomingFileOffer offer,
        Stream source,
        FileSink sink,
        bool socket,
        long expected,
        long resumeFrom,
        InactivityWatchdog watchdog,
        ProgressReporter reporter,
        CancellationToken cancellationToken)
    {
        long received = 0;
        while (!socket || received < expected)
        {
            // Bytestreams with data waiting complete reads synchronously and never look at the token.
            cancellationToken.ThrowIfCancellationRequested();

            // Waiting for a buffer is waiting for our own disk, not for the peer: the watchdog is not involved.
            var buffer = await sink.RentAsync(cancellationToken).ConfigureAwait(false);
            watchdog.Touch();
            var filled = 0;
            var ended = false;
            try
            {
                while (filled < buffer.Length)
                {
                    var room = socket ? (int)Math.Min(buffer.Length - filled, expected - received - filled) : buffer.Length - filled;
                    if (room == 0)
                    {
                        break;
                    }

                    var n = await source.ReadAsync(buffer.AsMemory(filled, room), watchdog.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        ended = true;
                        break;
                    }

                    filled += n;
                    watchdog.Touch();
                    if (!socket)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (watchdog.HasExpired && !cancellationToken.IsCancellationRequested)
            {
                sink.Commit(buffer, filled);
                throw SilentSender(offer, watchdog, resumeFrom + received + filled);
            }
            catch (BytestreamException) when (!socket && received + filled == expected)
            {
                // Every offered byte is here and only the sender's close is missing (it went offline or silent after the
                // last block): the hash decides, as for any complete receive.
                ended = true;
            }
            catch (Exception ex) when (ex is BytestreamException or IOException)
            {
                // A socket bytestream (SOCKS5) reports a reset or abort as an I/O error.
                sink.Commit(buffer, filled);
                throw new FileTransferException(
                    ex is BytestreamException { ErrorKind: BytestreamErrorKind.Timeout } ? FileTransferErrorKind.Timeout : FileTransferErrorKind.TransferFailed,
                    $"Receiving {offer.SafeName} from {offer.From} failed after {resumeFrom + received + filled} of {offer.File.Size} bytes: {ex.Message.TrimEnd('.')}; the part is kept for resuming.",
                    ex);
            }
            catch
            {
                sink.Commit(buffer, filled);
                throw;
            }

            if (received + filled > expected)
            {
                sink.Commit(buffer, (int)(expected - received));
                throw new FileTransferException(
                    FileTransferErrorKind.IntegrityCheckFailed,
                    $"{offer.From} sent more than the {offer.File.Size} bytes it offered for {offer.SafeName}; stopped, and the data was discarded.");
            }

            sink.Commit(buffer, filled);
            received += filled;
            reporter.Report(resumeFrom + received);
            if (ended)
            {
                break;
            }
        }

        return received;
    }

    /// <summary>
    /// The failure of a receive whose sender sent nothing for as long as <paramref name="watchdog"/> allows, stopped with
    /// <paramref name="at"/> bytes of the file on disk: <see cref="FileTransferErrorKind.PeerUnavailable"/> when the sender's
    /// presence had gone unavailable (the short silence), else <see cref="FileTransferErrorKind.Timeout"/>. Neither is a
    /// SOCKS5 failure to fall back from: the connection works, the sender stopped. The part is kept either way.
    /// </summary>
    private static FileTransferException SilentSender(IncomingFileOffer offer, InactivityWatchdog watchdog, long at) =>
        watchdog.Shortened
            ? new FileTransferException(
                FileTransferErrorKind.PeerUnavailable,
                $"{offer.From} went offline (its presence) and sent nothing for {watchdog.Allowed.TotalSeconds:0.#} s since; stopped after {at} of {offer.File.Size} bytes of {offer.SafeName} (the part is kept for resuming).")
            : new FileTransferException(
                FileTransferErrorKind.Timeout,
                $"{offer.From} sent nothing for {watchdog.Timeout.TotalSeconds:0.#} s; stopped after {at} of {offer.File.Size} bytes of {offer.SafeName} (the part is kept for resuming).");

    /// <summary>
    /// Longest a proxied receive of an empty file waits for the sender's close: the sender activates within a round trip or
    /// two of our <c>streamhost-used</c>, and a sender that waits for our close first (as some do) must not be held long.
    /// </summary>
    internal static readonly TimeSpan EmptyProxyCloseWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A proxied bytestream with nothing to read (an empty file): waits for the sender's close (EOF) before we close ours,
    /// at most <see cref="EmptyProxyCloseWait"/> (or the inactivity timeout, if shorter). Over a proxy the target gets no
    /// activation signal (PROTOCOLS.md §4.3), and the requester activates only after our <c>streamhost-used</c>: a target that
    /// closed at once, having read its 0 bytes, would leave the proxy with half a pair, the activation would be refused
    /// (not-allowed), and the sender would fail (or re-offer in band) a file we had saved. With bytes to read, the last one
    /// arriving proves the activation happened, and a direct connection has no activation, so only this case waits. An end
    /// of stream is the sender's close, passed on by the proxy after activation; a reset is not: our proxy resets the legs
    /// of a pair it never activated (the sender's activation failed and it left), so that is a SOCKS5 failure, which the
    /// sender's in-band re-offer (when it can) turns into an IBB receive of the same file. A sender that does not close in
    /// time (one that waits for our close) leaves us with the whole (empty) file all the same; a byte is more than was
    /// offered. (Prosody's mod_proxy65 closes the target's leg with an end of stream whether or not it activated: there
    /// an empty file whose activation failed cannot be told from one sent, docs/interop.md.)
    /// </summary>
    private async Task AwaitSenderCloseAsync(IncomingFileOffer offer, Stream source, InactivityWatchdog watchdog, CancellationToken cancellationToken)
    {
        var probe = new byte[1];
        var wait = watchdog.Timeout == Timeout.InfiniteTimeSpan || watchdog.Timeout > EmptyProxyCloseWait ? EmptyProxyCloseWait : watchdog.Timeout;
        using var bound = new CancellationTokenSource(wait, Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(watchdog.Token, bound.Token);
        int n;
        try
        {
            watchdog.Touch();
            n = await source.ReadAsync(probe, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            FileTransferLog.EmptyCloseAwaited(Logger, offer.Sid, offer.From.ToString(), wait.TotalSeconds);
            return;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or BytestreamException)
        {
            throw new FileTransferException(
                FileTransferErrorKind.TransferFailed,
                $"The SOCKS5 bytestream for {offer.SafeName} from {offer.From} was reset before the sender closed it: the proxy never relayed it (activation failed?), so the empty file is not taken as received ({ex.Message.TrimEnd('.')}).",
                ex);
        }

        if (n > 0)
        {
            throw new FileTransferException(
                FileTransferErrorKind.IntegrityCheckFailed,
                $"{offer.From} sent more than the {offer.File.Size} bytes it offered for {offer.SafeName}; stopped, and the data was discarded.");
        }
    }

    /// <summary>
    /// Runs a resume's check of the part. A part another receive holds locked (the same file offered into the same folder
    /// twice at once) refuses the offer: starting over would unlink the file that receive writes to, and its rename could
    /// then publish our partial file as the finished one.
    /// </summary>
    private static async Task<bool> ResumeCheckAsync(IncomingFileOffer offer, Func<Task<bool>> check)
    {
        try
        {
            return await check().ConfigureAwait(false);
        }
        catch (PartInUseException ex)
        {
            offer.Refuse("The file is being received already");
            throw new FileTransferException(
                FileTransferErrorKind.LocalIo,
                $"{offer.SafeName} from {offer.From} is being received by another receive into the same folder; refused, leaving its part alone.",
                ex);
        }
    }

    /// <summary>Deletes a part that is not the offered file (or cannot be read); one that cannot be deleted is overwritten from byte 0 anyway.</summary>
    private static void DiscardPart(string directory, string partName)
    {
        try
        {
            PartialFile.Delete(directory, partName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // PartData.Open truncates it when the first byte arrives.
        }
    }
}
