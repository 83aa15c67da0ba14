using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using XmppTransfer.Bytestreams;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer;

public sealed partial class FileTransferManager
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<IncomingFileOffer>> _awaitingFallback = new(StringComparer.Ordinal);

    internal async Task<FileTransferResult> ReceiveAsync(
        IncomingFileOffer offer, string directory, FileReceiveOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await offer.DeclineAsync("Cannot write here", CancellationToken.None).ConfigureAwait(false);
            throw new FileTransferException(FileTransferErrorKind.LocalIo, $"Cannot use {directory}: {ex.Message}", ex);
        }

        var identity = new PartialFile
        {
            Sender = offer.From.Bare.ToString(),
            Name = offer.File.Name,
            Size = offer.File.Size,
            Md5 = offer.File.Md5,
            Sha256 = offer.File.Sha256 is null ? null : Convert.ToHexStringLower(offer.File.Sha256),
        };

        if (offer.OobQuery is not null)
        {
            return await ReceiveOobAsync(offer, directory, identity, options, progress, cancellationToken).ConfigureAwait(false);
        }

        var current = offer;
        while (true)
        {
            try
            {
                return await ReceiveOnceAsync(current, directory, identity, options, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (FileTransferException ex) when (ex.Data.Contains(Socks5FailureMarker) && current.Methods.Contains(StreamMethods.Socks5))
            {
                // The sender falls back with a fresh IBB-only offer of the same file; take it ourselves.
                var fallback = await WaitForFallbackOfferAsync(identity, cancellationToken).ConfigureAwait(false);
                if (fallback is null)
                {
                    throw;
                }

                current = fallback;
            }
        }
    }

    private async Task<FileTransferResult> ReceiveOnceAsync(
        IncomingFileOffer offer, string directory, PartialFile identity, FileReceiveOptions options, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var safeName = offer.SafeName;
        var resumeFrom = options.Resume && offer.File.SupportsRange ? PartialFile.ResumableLength(directory, safeName, identity) : 0;
        if (!HasRoomFor(directory, offer.File.Size - resumeFrom))
        {
            await offer.DeclineAsync("Not enough disk space", CancellationToken.None).ConfigureAwait(false);
            throw new FileTransferException(FileTransferErrorKind.Refused, $"Not enough free space in {directory} for {offer.File.Size - resumeFrom} bytes.");
        }

        var useSocks5 = options.PreferSocks5 && Socks5 is not null && offer.Methods.Contains(StreamMethods.Socks5);
        var method = useSocks5 ? StreamMethods.Socks5 : StreamMethods.Ibb;
        if (!offer.Methods.Contains(method))
        {
            offer.Response.TrySetException(new Core.XmppStanzaErrorException(new Core.Stanzas.StanzaError(
                Core.Stanzas.StanzaErrorType.Cancel, "bad-request", null, new System.Xml.Linq.XElement(System.Xml.Linq.XName.Get("no-valid-streams", Namespaces.Si)))));
            throw new FileTransferException(FileTransferErrorKind.NotSupported, $"{offer.From} offered no stream method we support.");
        }

        // Register for the bytestream before answering, so an open that follows at once is not missed.
        var ibbRegistration = Ibb.Expect(offer.From, offer.Sid);
        var accept = new SiAccept([method], resumeFrom > 0 ? resumeFrom : null);
        offer.Response.TrySetResult(accept.ToXml());
        FileTransferLog.Accepted(Logger, offer.From.ToString(), offer.Sid, method, resumeFrom);

        var clock = Stopwatch.StartNew();
        var reporter = new ProgressReporter(progress, safeName, offer.File.Size, resumeFrom, Options.ProgressInterval) { Method = TransferMethod.Ibb };
        Stream source;
        try
        {
            source = await Ibb.WaitExpectedAsync(offer.From, offer.Sid, ibbRegistration, cancellationToken).ConfigureAwait(false);
        }
        catch (BytestreamException ex)
        {
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, ex.Message, ex);
        }

        await using (source.ConfigureAwait(false))
        {
            return await SaveAsync(offer, source, TransferMethod.Ibb, directory, identity, resumeFrom, options, reporter, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<FileTransferResult> SaveAsync(
        IncomingFileOffer offer,
        Stream source,
        TransferMethod method,
        string directory,
        PartialFile identity,
        long resumeFrom,
        FileReceiveOptions options,
        ProgressReporter reporter,
        Stopwatch clock,
        CancellationToken cancellationToken)
    {
        var safeName = offer.SafeName;
        var partPath = PartialFile.DataPath(directory, safeName);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long received = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(Options.CopyBufferSize);
        try
        {
            var part = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
            await using (part.ConfigureAwait(false))
            {
                identity.Save(directory, safeName);
                if (resumeFrom > 0)
                {
                    // Hash what we already have so the whole file is verified, then append.
                    part.SetLength(resumeFrom);
                    int n;
                    while ((n = await part.ReadAsync(buffer.AsMemory(0, Options.CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        sha256.AppendData(buffer, 0, n);
                        md5.AppendData(buffer, 0, n);
                    }
                }
                else
                {
                    part.SetLength(0);
                }

                var expected = offer.File.Size - resumeFrom;
                while (true)
                {
                    // Bytestreams with data waiting complete reads synchronously and never look at the token.
                    cancellationToken.ThrowIfCancellationRequested();
                    int read;
                    try
                    {
                        read = await source.ReadAsync(buffer.AsMemory(0, Options.CopyBufferSize), cancellationToken).ConfigureAwait(false);
                    }
                    catch (BytestreamException ex)
                    {
                        throw new FileTransferException(
                            ex.ErrorKind == BytestreamErrorKind.Timeout ? FileTransferErrorKind.Timeout : FileTransferErrorKind.TransferFailed,
                            $"Receiving {safeName} from {offer.From} failed after {resumeFrom + received} of {offer.File.Size} bytes: {ex.Message}",
                            ex);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    if (received + read > expected)
                    {
                        throw new FileTransferException(
                            FileTransferErrorKind.IntegrityCheckFailed,
                            $"{offer.From} sent more than the {offer.File.Size} bytes it offered for {safeName}; stopped.");
                    }

                    await part.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    sha256.AppendData(buffer, 0, read);
                    md5.AppendData(buffer, 0, read);
                    received += read;
                    reporter.Report(resumeFrom + received);
                }

                await part.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (received != expected)
                {
                    throw new FileTransferException(
                        FileTransferErrorKind.TransferFailed,
                        $"{offer.From} closed the stream after {resumeFrom + received} of {offer.File.Size} bytes of {safeName}; the part is kept for resuming.");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        reporter.Report(resumeFrom + received, force: true);
        var sha = Convert.ToHexStringLower(sha256.GetHashAndReset());
        var md5Hex = Convert.ToHexStringLower(md5.GetHashAndReset());
        var shaMismatch = identity.Sha256 is not null && identity.Sha256 != sha;
        var md5Mismatch = identity.Md5 is not null && !string.Equals(identity.Md5, md5Hex, StringComparison.OrdinalIgnoreCase);
        if (shaMismatch || md5Mismatch)
        {
            // Corrupt data must neither keep a final name nor be resumed from.
            PartialFile.Delete(directory, safeName);
            throw new FileTransferException(
                FileTransferErrorKind.IntegrityCheckFailed,
                $"{safeName} from {offer.From} failed its {(shaMismatch ? "SHA-256" : "MD5")} check; the data was discarded.");
        }

        var finalPath = options.Overwrite ? Path.Combine(directory, safeName) : SafeFileName.Unique(directory, safeName);
        File.Move(partPath, finalPath, options.Overwrite);
        File.Delete(PartialFile.MetadataPath(directory, safeName));
        FileTransferLog.Completed(Logger, offer.Sid, offer.From.ToString(), received, method.ToShortName(), clock.Elapsed.TotalSeconds);
        return new FileTransferResult
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

    private async Task<IncomingFileOffer?> WaitForFallbackOfferAsync(PartialFile identity, CancellationToken cancellationToken)
    {
        var key = FallbackKey(identity.Sender, identity.Name, identity.Size, identity.Md5, identity.Sha256);
        var tcs = new TaskCompletionSource<IncomingFileOffer>(TaskCreationOptions.RunContinuationsAsynchronously);
        _awaitingFallback[key] = tcs;
        try
        {
            return await tcs.Task.WaitAsync(Options.FallbackWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _awaitingFallback.TryRemove(new KeyValuePair<string, TaskCompletionSource<IncomingFileOffer>>(key, tcs));
        }
    }

    private bool TryRouteFallback(IncomingFileOffer incoming)
    {
        var file = incoming.File;
        var key = FallbackKey(incoming.From.Bare.ToString(), file.Name, file.Size, file.Md5, file.Sha256 is null ? null : Convert.ToHexStringLower(file.Sha256));
        return _awaitingFallback.TryRemove(key, out var waiter) && incoming.TryClaim() && waiter.TrySetResult(incoming);
    }

    private static string FallbackKey(string sender, string name, long size, string? md5, string? sha256) =>
        string.Join('\n', sender, name, size.ToString(System.Globalization.CultureInfo.InvariantCulture), md5, sha256);

    private static bool HasRoomFor(string directory, long bytes)
    {
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(directory));
            return drive.AvailableFreeSpace >= bytes;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Unknown: let the write itself fail if the disk fills.
            return true;
        }
    }
}
