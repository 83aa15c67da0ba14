using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;

namespace XmppTransfer.FileTransfer;

public sealed partial class FileTransferManager
{
    /// <summary>
    /// Sends a file: resolves the receiver, hashes the file (streaming), offers it, and sends the
    /// bytes by the method the receiver chose, from the offset it asked for. Cancelling tells the
    /// peer (the bytestream is closed) and throws <see cref="OperationCanceledException"/>. Only regular files (or
    /// symbolic links to them) are sent: a FIFO, a socket or a device is refused with a
    /// <see cref="FileTransferException"/> (<see cref="FileTransferErrorKind.LocalIo"/>) before anything is opened.
    /// </summary>
    public async Task<FileTransferResult> SendFileAsync(
        Jid to, string path, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SendableFile.EnsureNotSpecial(path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FileTransferException(FileTransferErrorKind.LocalIo, $"Cannot read {path}: {ex.Message}", ex);
        }

        if (options?.Method == TransferMethodPreference.Oob)
        {
            await file.DisposeAsync().ConfigureAwait(false);
            return await SendOobAsync(to, path, options, progress, cancellationToken).ConfigureAwait(false);
        }

        await using (file.ConfigureAwait(false))
        {
            var description = new FileOfferDescription(Path.GetFileName(path), file.Length)
            {
                Date = File.GetLastWriteTimeUtc(path),
                Description = options?.Description,
            };
            var result = await SendStreamAsync(to, file, description, options, progress, cancellationToken).ConfigureAwait(false);
            return result with { Path = Path.GetFullPath(path) };
        }
    }

    /// <summary>
    /// Sends the content of <paramref name="content"/> described by <paramref name="file"/>. A seekable
    /// stream can be resumed (range) and hashed; a non-seekable one is sent from its position without hashes.
    /// </summary>
    public async Task<FileTransferResult> SendStreamAsync(
        Jid to,
        Stream content,
        FileOfferDescription file,
        FileSendOptions? options = null,
        IProgress<FileTransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(file);
        options ??= FileSendOptions.Default;
        options.Validate();
        var (peer, info) = await ResolvePeerAsync(to, SupportsSi, SiCapability, cancellationToken).ConfigureAwait(false);

        var start = content.CanSeek ? content.Position : 0;
        FileHashes? hashes = null;
        if (options.ComputeHashes && content.CanSeek && file.Md5 is null && file.Sha256 is null)
        {
            // A receiver that speaks XEP-0300 gets SHA-256 only; the legacy MD5 attribute (the slowest hash) is for those that do not.
            var xep0300 = info.HasFeature(Namespaces.Hashes);
            hashes = await FileHashes.ComputeAsync(content, includeMd5: !xep0300, cancellationToken).ConfigureAwait(false);
            content.Position = start;
            file = file with
            {
                Md5 = hashes.Md5,
                Sha256 = xep0300 ? hashes.Sha256 : null,
            };
        }

        file = file with { SupportsRange = content.CanSeek };
        var methods = OfferedMethods(options.Method, info);
        var offer = new SiOffer(NewSid(), file, methods);
        try
        {
            return await OfferAndSendAsync(peer, content, start, offer, hashes, options, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (FileTransferException ex) when (ex.InnerException is BytestreamException bytestream && IsSocks5Failure(ex)
            && options.Method == TransferMethodPreference.Auto && methods.Contains(StreamMethods.Ibb))
        {
            // PROTOCOLS.md §6: SI cannot renegotiate; a fresh offer restricted to IBB (with range, so a
            // partial receipt resumes) is what every peer understands. Our receiver accepts it by itself. It goes through
            // the same offer step, so a receiver that is busy by then is offered it again like any other offer.
            FileTransferLog.FallingBack(Logger, ex.Data[Socks5FailureMarker] as string ?? offer.Sid, peer.ToString(), bytestream.Message);
            content.Position = start;
            var retry = new SiOffer(NewSid(), file, [StreamMethods.Ibb]);
            return await OfferAndSendAsync(peer, content, start, retry, hashes, options, progress, cancellationToken, fallingBackFrom: ex).ConfigureAwait(false);
        }
    }

    private static bool IsSocks5Failure(FileTransferException ex) => ex.Data.Contains(Socks5FailureMarker);

    /// <summary>Key of <see cref="Exception.Data"/> that marks a SOCKS5 failure; its value is the sid that failed (a busy receiver can make it another than the first offer's).</summary>
    private const string Socks5FailureMarker = "xft.socks5-failed";

    private IReadOnlyList<string> OfferedMethods(TransferMethodPreference preference, Core.Disco.DiscoInfo info)
    {
        var socks5 = Socks5 is not null && info.HasFeature(Namespaces.Bytestreams);
        var ibb = info.HasFeature(Namespaces.Ibb) || !info.HasFeature(Namespaces.Bytestreams);
        IReadOnlyList<string> methods = preference switch
        {
            TransferMethodPreference.Ibb => [StreamMethods.Ibb],
            TransferMethodPreference.Socks5 => Socks5 is null
                ? throw new FileTransferException(FileTransferErrorKind.NotSupported, "SOCKS5 bytestreams are not enabled on this client.")
                : [StreamMethods.Socks5],
            TransferMethodPreference.Oob => throw new FileTransferException(FileTransferErrorKind.NotSupported, "Out-of-band data is sent from a file path (SendFileAsync)."),
            _ => socks5 && ibb ? [StreamMethods.Socks5, StreamMethods.Ibb] : socks5 ? [StreamMethods.Socks5] : [StreamMethods.Ibb],
        };
        return methods;
    }

    private async Task<FileTransferResult> OfferAndSendAsync(
        Jid peer,
        Stream content,
        long start,
        SiOffer offer,
        FileHashes? hashes,
        FileSendOptions options,
        IProgress<FileTransferProgress>? progress,
        CancellationToken cancellationToken,
        FileTransferException? fallingBackFrom = null)
    {
        FileTransferLog.Offering(Logger, offer.File.Name, offer.File.Size, peer.ToString(), offer.Sid, string.Join(" ", offer.Methods));
        XElement answer;

        // The sid of the last offer sent: a busy receiver's retry sends another, and a refusal is about the last one.
        var sent = offer.Sid;
        try
        {
            var first = offer;
            (answer, var sid) = await OfferWhileBusyAsync(
                    peer,
                    offer.Sid,
                    s =>
                    {
                        sent = s;
                        return (first with { Sid = s }).ToXml();
                    },
                    options.OfferTimeout,
                    options,
                    offer.File.Name,
                    offer.File.Size,
                    progress,
                    cancellationToken)
                .ConfigureAwait(false);
            offer = offer with { Sid = sid };
        }
        catch (XmppStanzaErrorException ex)
        {
            var refused = OfferRefused(peer, ex);
            throw WithSid(fallingBackFrom is null ? refused : FallbackFailed(fallingBackFrom, refused), sent);
        }
        catch (XmppException ex) when (ex.Kind == XmppErrorKind.Timeout)
        {
            var silent = new FileTransferException(FileTransferErrorKind.Timeout, $"{peer} did not answer the offer within {options.OfferTimeout.TotalSeconds:0.#} s.", ex);
            throw WithSid(fallingBackFrom is null ? silent : FallbackFailed(fallingBackFrom, silent), sent);
        }
        catch (XmppException ex) when (ex is XmppConnectionException or XmppStreamErrorException || (ex is not FileTransferException && Session.Completion.IsCompleted))
        {
            // Our session ended while the offer waited for its answer: the session's own error, which names the offer made.
            ex.Data[FileTransferException.OfferSidKey] = sent;
            throw;
        }

        var accept = SiAccept.Parse(answer.Element(SiOffer.SiName))
            ?? throw WithSid(new FileTransferException(FileTransferErrorKind.TransferFailed, $"{peer} accepted without choosing a stream method."), offer.Sid);
        var method = accept.Methods.FirstOrDefault(offer.Methods.Contains)
            ?? throw WithSid(new FileTransferException(FileTransferErrorKind.TransferFailed, $"{peer} chose a stream method we did not offer ({accept.Methods[0]})."), offer.Sid);

        var offset = accept.RangeOffset ?? 0;
        if (offset < 0 || offset > offer.File.Size || (offset > 0 && !content.CanSeek))
        {
            throw WithSid(new FileTransferException(FileTransferErrorKind.TransferFailed, $"{peer} asked for an impossible range (offset {offset} of {offer.File.Size})."), offer.Sid);
        }

        var length = Math.Min(accept.RangeLength ?? offer.File.Size - offset, offer.File.Size - offset);
        if (offset > 0)
        {
            content.Position = start + offset;
        }

        FileTransferLog.Accepted(Logger, peer.ToString(), offer.Sid, method, offset);
        var clock = Stopwatch.StartNew();
        var reporter = new ProgressReporter(progress, offer.File.Name, offer.File.Size, offset, Options.ProgressInterval);
        TransferMethod used;
        try
        {
            used = method == StreamMethods.Socks5
                ? await SendOverSocks5Async(peer, offer.Sid, content, offset, length, reporter, cancellationToken).ConfigureAwait(false)
                : await SendOverIbbAsync(peer, offer.Sid, content, offset, length, options, reporter, cancellationToken).ConfigureAwait(false);
        }
        catch (BytestreamException ex)
        {
            FileTransferLog.Failed(Logger, offer.Sid, peer.ToString(), ex.Message);
            var failure = new FileTransferException(
                ex.ErrorKind == BytestreamErrorKind.Cancelled ? FileTransferErrorKind.CancelledByPeer : FileTransferErrorKind.TransferFailed,
                ex.Message,
                ex)
            {
                Sid = offer.Sid,
            };
            if (method == StreamMethods.Socks5)
            {
                failure.Data[Socks5FailureMarker] = offer.Sid;
            }

            throw failure;
        }
        catch (FileTransferException ex) when (ex.Sid is null)
        {
            // Raised by the bytestream step itself (a stall, a local read error): about this offer all the same.
            ex.Sid = offer.Sid;
            throw;
        }
        catch (XmppException ex) when (ex is XmppConnectionException or XmppStreamErrorException || (ex is not FileTransferException && Session.Completion.IsCompleted))
        {
            // Our session ended during the negotiation (an IQ on the closed stream): its own error, naming this offer.
            ex.Data[FileTransferException.OfferSidKey] = offer.Sid;
            throw;
        }

        FileTransferLog.Completed(Logger, offer.Sid, peer.ToString(), length, used.ToShortName(), clock.Elapsed.TotalSeconds);
        return new FileTransferResult
        {
            Peer = peer,
            Sid = offer.Sid,
            FileName = offer.File.Name,
            Method = used,
            Size = offer.File.Size,
            BytesTransferred = length,
            ResumedFrom = offset,
            Duration = clock.Elapsed,
            Md5 = hashes?.Md5 ?? offer.File.Md5,
            Sha256 = hashes?.Sha256Hex,
        };
    }

    private async Task<TransferMethod> SendOverIbbAsync(
        Jid peer, string sid, Stream content, long offset, long length, FileSendOptions options, ProgressReporter reporter, CancellationToken cancellationToken)
    {
        reporter.Method = TransferMethod.Ibb;
        var stream = await Ibb.OpenAsync(peer, sid, options.Ibb, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await CopyAsync(content, stream, offset, length, reporter, null, cancellationToken).ConfigureAwait(false);
            await stream.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        return TransferMethod.Ibb;
    }

    /// <summary>
    /// Sends over a SOCKS5 bytestream (we are the XEP-0065 requester): straight from the page cache with sendfile(2) when the
    /// content is a file, else through a buffer. After the last byte we half-close and wait, at most
    /// <see cref="FileTransferOptions.Socks5CloseTimeout"/>, for the receiver to close: that is how we know it read everything.
    /// A receiver that takes no byte for <see cref="FileTransferOptions.Socks5InactivityTimeout"/> ends the transfer.
    /// </summary>
    private async Task<TransferMethod> SendOverSocks5Async(
        Jid peer, string sid, Stream content, long offset, long length, ProgressReporter reporter, CancellationToken cancellationToken)
    {
        var socks5 = Socks5 ?? throw new BytestreamException(BytestreamErrorKind.Refused, "SOCKS5 bytestreams are not enabled on this client.");
        var bytestream = await socks5.ConnectAsync(peer, sid, cancellationToken).ConfigureAwait(false);
        await using (bytestream.ConfigureAwait(false))
        {
            var used = bytestream.ViaProxy ? TransferMethod.Socks5Proxy : TransferMethod.Socks5Direct;
            reporter.Method = used;
            using var watchdog = new InactivityWatchdog(Options.Socks5InactivityTimeout, cancellationToken, Options.TimeProvider);

            // The receiver's unavailable presence: it is probably gone, but may be invisible or still reading, so the send
            // goes on only while it keeps taking bytes (Socks5PeerGoneGrace of silence ends it, not the inactivity timeout).
            using var peerGone = bytestream.PeerUnavailable.Register(static state => ((InactivityWatchdog)state!).Shorten(Socks5PeerGoneGrace), watchdog);
            try
            {
                if (content is FileStream { CanSeek: true } file)
                {
                    var position = file.Position;
                    await bytestream.SendFileAsync(file, position, length, n => { watchdog.Touch(); reporter.Report(offset + n); }, watchdog.Token)
                        .ConfigureAwait(false);
                    file.Position = position + length;
                    reporter.Report(offset + length, force: true);
                }
                else
                {
                    await CopyAsync(content, bytestream.Stream, offset, length, reporter, watchdog, cancellationToken).ConfigureAwait(false);
                }

                bytestream.ShutdownSend();
            }
            catch (EndOfStreamException ex)
            {
                throw new FileTransferException(FileTransferErrorKind.LocalIo, ex.Message, ex);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException
                && watchdog.HasExpired && !cancellationToken.IsCancellationRequested)
            {
                // Not a SOCKS5 failure (no fallback): the connection works, the receiver stopped reading. The watchdog closes
                // the socket, so its expiry can surface as any of these.
                if (bytestream.PeerUnavailable.IsCancellationRequested)
                {
                    throw new FileTransferException(FileTransferErrorKind.PeerUnavailable,
                        $"{peer} went offline (its presence) and took no data for {watchdog.Allowed.TotalSeconds:0.#} s since over the SOCKS5 bytestream; stopped.", ex);
                }

                throw new FileTransferException(FileTransferErrorKind.Timeout,
                    $"{peer} took no data for {watchdog.Timeout.TotalSeconds:0.#} s over the SOCKS5 bytestream; stopped.", ex);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The send was cancelled.", ex, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw new BytestreamException(BytestreamErrorKind.Closed, $"The SOCKS5 bytestream to {peer} broke while sending: {ex.Message}", ex);
            }

            await WaitForReceiverCloseAsync(bytestream, peer, cancellationToken).ConfigureAwait(false);
            return used;
        }
    }

    private async Task WaitForReceiverCloseAsync(Socks5Bytestream bytestream, Jid peer, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.Socks5CloseTimeout);

        // A receiver whose presence went unavailable gets Socks5PeerGoneGrace for its close: an xft receiver closes and exits
        // at once, and its close (or the reset of its exit) and its presence race over two connections, so the close may
        // well come second. A close within the grace still completes the send.
        using var peerGone = bytestream.PeerUnavailable.Register(
            static state => ShortenTo((CancellationTokenSource)state!, Socks5PeerGoneGrace), timeout);
        var buffer = ArrayPool<byte>.Shared.Rent(512);
        try
        {
            // The receiver sends nothing; anything it does send is discarded until its close (EOF).
            while (await bytestream.Stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Not a SOCKS5 failure (no fallback): every byte was handed to TCP, but the receiver did not confirm.
            if (bytestream.PeerUnavailable.IsCancellationRequested)
            {
                throw new FileTransferException(FileTransferErrorKind.PeerUnavailable,
                    $"{peer} went offline (its presence) after the last byte and did not close the SOCKS5 bytestream within {Socks5PeerGoneGrace.TotalSeconds:0.#} s; it may not have everything.");
            }

            throw new FileTransferException(FileTransferErrorKind.Timeout,
                $"{peer} did not close the SOCKS5 bytestream within {Options.Socks5CloseTimeout.TotalSeconds:0.#} s after the last byte; it may not have everything.");
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // A reset after our FIN is also a close: the receiver is gone.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// How long a SOCKS5 send goes on without progress, or waits for the receiver's close, once the receiver's presence went
    /// unavailable, and how long a SOCKS5 receive goes on without bytes once the sender's did: long enough for a close racing
    /// the presence, or an invisible peer still reading or sending, to show.
    /// </summary>
    internal static readonly TimeSpan Socks5PeerGoneGrace = TimeSpan.FromSeconds(2);

    private static void ShortenTo(CancellationTokenSource timeout, TimeSpan delay)
    {
        try
        {
            // CancelAfter replaces the earlier due time; Socks5CloseTimeout is far longer than the grace.
            timeout.CancelAfter(delay);
        }
        catch (ObjectDisposedException)
        {
            // The wait ended just now.
        }
    }

    /// <summary>
    /// Copies exactly <paramref name="length"/> bytes; a source that ends early is a local I/O error. With a watchdog (SOCKS5)
    /// each buffer is written in slices, so that a slow but moving receiver keeps it fed.
    /// </summary>
    private async Task CopyAsync(
        Stream source, Stream destination, long offset, long length, ProgressReporter reporter, InactivityWatchdog? watchdog, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Options.CopyBufferSize);
        var token = watchdog?.Token ?? cancellationToken;
        var slice = watchdog is null ? Options.CopyBufferSize : Math.Min(Options.CopyBufferSize, WatchedWriteSlice);
        try
        {
            long sent = 0;
            while (sent < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var want = (int)Math.Min(Options.CopyBufferSize, length - sent);
                int read;
                try
                {
                    read = await source.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    throw new FileTransferException(FileTransferErrorKind.LocalIo, "Reading the file failed: " + ex.Message, ex);
                }

                if (read == 0)
                {
                    throw new FileTransferException(FileTransferErrorKind.LocalIo, $"The file ended after {offset + sent} bytes; it shrank while being sent.");
                }

                for (var written = 0; written < read; written += slice)
                {
                    await destination.WriteAsync(buffer.AsMemory(written, Math.Min(slice, read - written)), token).ConfigureAwait(false);
                    watchdog?.Touch();
                }

                sent += read;
                reporter.Report(offset + sent);
            }

            reporter.Report(offset + sent, force: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private const int WatchedWriteSlice = 256 * 1024;

    /// <summary>
    /// Sends an offer (the IQ-set <paramref name="offerFor"/> makes for a sid) and returns the receiver's answer with the sid
    /// of the offer it answered. A refusal of type wait (the receiver is busy: RFC 6120 §8.3.2, retry after waiting) is
    /// followed, after the next of <see cref="FileSendOptions.OfferRetryDelays"/>, by a fresh offer with a new sid: the
    /// receiver has forgotten the refused one, and a sid names one negotiation. Only this step is retried: once an offer is
    /// accepted, a failure is the transfer's. Other errors, a timeout and the refusal after the last delay propagate as they are.
    /// </summary>
    private async Task<(XElement Answer, string Sid)> OfferWhileBusyAsync(
        Jid peer,
        string sid,
        Func<string, XElement> offerFor,
        TimeSpan timeout,
        FileSendOptions options,
        string fileName,
        long size,
        IProgress<FileTransferProgress>? progress,
        CancellationToken cancellationToken)
    {
        // A copy: the list is the caller's, validated once, and must not change under the loop.
        IReadOnlyList<TimeSpan> delays = [.. options.OfferRetryDelays];
        for (var retry = 0; ; retry++)
        {
            try
            {
                var answer = await Session.SendIqAsync(Stanza.MakeIq(IqType.Set, peer, offerFor(sid)), timeout, cancellationToken).ConfigureAwait(false);
                return (answer, sid);
            }
            catch (XmppStanzaErrorException ex) when (IsBusy(ex.Error) && retry < delays.Count)
            {
                var delay = delays[retry];
                var next = NewSid();
                FileTransferLog.ReceiverBusy(Logger, peer.ToString(), sid, ex.Error.ToString(), next, delay.TotalSeconds, retry + 1, delays.Count);
                progress?.Report(new FileTransferProgress(fileName, 0, size, TimeSpan.Zero, null) { RetryAt = Options.TimeProvider.GetUtcNow() + delay });

                // Cancelling ends the wait at once, with the caller's token (Task.Delay throws it). So does our session
                // ending: the offer after it fails at once as closed, instead of after the delay.
                using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var wait = Task.Delay(delay, Options.TimeProvider, waiting.Token);
                    var first = await Task.WhenAny(wait, Session.Completion).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (first != wait)
                    {
                        // The delay's timer is not left running (a retry delay may be long) on the caller's token. No new
                        // offer is made: it could not be sent, and the failure names the last one that was (the refused one).
                        await waiting.CancelAsync().ConfigureAwait(false);
                        throw new XmppConnectionException(XmppErrorKind.Closed, "The XMPP stream is closed.");
                    }
                }

                sid = next;
            }
        }
    }

    /// <summary>
    /// A receiver that is busy: an error of type wait (RFC 6120 §8.3.2, retry after waiting) that says it has no room now
    /// (<c>resource-constraint</c>: a full queue) or that we offer too much (<c>policy-violation</c>: a rate limit). Other
    /// wait errors are not about the receiver's load: <c>recipient-unavailable</c> or <c>remote-server-timeout</c> mean it is
    /// not there, and a decline is final whatever its type (its user said no).
    /// </summary>
    private static bool IsBusy(StanzaError error) =>
        error.Type == StanzaErrorType.Wait && error.Condition is ("resource-constraint" or "policy-violation");

    /// <summary>
    /// The error of an offer the receiver (or its server) refused. <c>service-unavailable</c> is worded as the disco#info
    /// check before the offer words it (<see cref="GetPeerInfoAsync"/>): that check found the receiver supporting SI, so at
    /// the offer the condition is its server's answer for a full JID that has gone offline (RFC 6120 §8.5.3.2.1).
    /// </summary>
    private static FileTransferException OfferRefused(Jid peer, XmppStanzaErrorException ex) => ex.Error.Condition switch
    {
        "forbidden" or "not-acceptable" => new FileTransferException(FileTransferErrorKind.Declined, $"{peer} declined the file{DeclineText(ex.Error.Text)}.", ex),
        "bad-request" when ex.Error.ApplicationCondition?.Name.LocalName == "no-valid-streams" => new FileTransferException(
            FileTransferErrorKind.NotSupported, $"{peer} supports none of the offered stream methods.", ex),
        "feature-not-implemented" => new FileTransferException(
            FileTransferErrorKind.NotSupported, $"{peer} does not accept SI file transfers ({ex.Error.Condition}).", ex),
        "remote-server-not-found" or "remote-server-timeout" => Unreachable(peer, ex),
        "service-unavailable" or "recipient-unavailable" or "item-not-found" => new FileTransferException(
            FileTransferErrorKind.PeerUnavailable, $"{peer} is not online ({ex.Error.Condition}).", ex),
        _ => new FileTransferException(FileTransferErrorKind.TransferFailed, $"{peer} refused the offer: {ex.Error}.", ex),
    };

    /// <summary>
    /// ": why" after "declined the file", from a decline's text: nothing for the stock "Offer Declined" of XEP-0096's examples,
    /// which says no more than the sentence, in whatever case and with or without a period (slixmpp sends "Offer declined.").
    /// </summary>
    private static string DeclineText(string? text) =>
        text is null || string.Equals(text.Trim().TrimEnd('.'), "Offer Declined", StringComparison.OrdinalIgnoreCase) ? "" : ": " + text.Trim().TrimEnd('.');

    /// <summary><paramref name="failure"/>, marked with the sid of the offer it is about (<see cref="FileTransferException.Sid"/>).</summary>
    private static FileTransferException WithSid(FileTransferException failure, string sid)
    {
        failure.Sid = sid;
        return failure;
    }

    /// <summary>
    /// The SOCKS5 transfer failed (<paramref name="socks5"/>) and the in-band re-offer that was to take over got no answer to
    /// start on (<paramref name="reoffer"/>). The message says what happened in order, the SOCKS5 failure first: alone, the
    /// re-offer's refusal reads as if the file had never been accepted (a receiver gone offline meanwhile answers
    /// <c>service-unavailable</c>, once read as "does not accept SI"). The SOCKS5 failure stays the cause (inner exception);
    /// the kind is the re-offer's, as that is why the file cannot be completed now (the receiver is offline, declined it, or
    /// did not answer).
    /// </summary>
    private static FileTransferException FallbackFailed(FileTransferException socks5, FileTransferException reoffer) => new(
        reoffer.ErrorKind, $"{socks5.Message.TrimEnd('.')}; the fall back to in-band could not start: {reoffer.Message}", socks5);

    /// <summary>
    /// Our server could not reach the peer's server (RFC 6120 §8.3.3.15-16): a different failure from the peer being offline,
    /// and the one to tell, since the fix is the domain (a typo, a server that is down), not the resource.
    /// </summary>
    internal static FileTransferException Unreachable(Jid peer, XmppStanzaErrorException ex) => new(
        FileTransferErrorKind.PeerUnavailable,
        ex.Error.Condition == "remote-server-timeout"
            ? $"The server of {peer.Domain} did not answer in time, so {peer} cannot be reached ({ex.Error.Condition})."
            : $"The server of {peer.Domain} could not be reached (does the domain exist, and does our server talk to other servers?), so {peer} cannot be reached ({ex.Error.Condition}).",
        ex);

    private static string NewSid() => "xft" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
}
