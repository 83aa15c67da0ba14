using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>
/// One HTTP download whose answer has been checked: where its body starts in the file, how long the file is said to be,
/// and the copy of the body into a <see cref="FileSink"/> within those bounds. Every wait, from the request on, is bounded
/// by the same inactivity watchdog.
/// </summary>
internal sealed class OobDownload : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _body;
    private readonly InactivityWatchdog _watchdog;
    private readonly Uri _url;
    private readonly long? _maxBytes;

    public OobDownload(HttpResponseMessage response, Stream body, InactivityWatchdog watchdog, Uri url, long offset, long? total, long? maxBytes)
    {
        _response = response;
        _body = body;
        _watchdog = watchdog;
        _url = url;
        Offset = offset;
        Total = total;
        _maxBytes = maxBytes;
    }

    /// <summary>Where the body goes in the file: the offset asked for when the server honoured the range, else 0.</summary>
    public long Offset { get; }

    /// <summary>The whole file's size as the server announced it (Content-Length, or the Content-Range total); null when unknown.</summary>
    public long? Total { get; }

    /// <summary>
    /// Moves the body into <paramref name="sink"/> until it ends, filling a whole buffer before handing it on. The file
    /// never grows past the announced size (or, with none, the download limit): one byte beyond is read to tell a body
    /// that runs over from one that ends there, and a body that runs over stops with an error. What was read when a
    /// failure strikes is committed first, so it is kept. Returns the bytes of the body.
    /// </summary>
    public async Task<long> CopyToAsync(FileSink sink, Action<long> onProgress, CancellationToken cancellationToken)
    {
        var limit = Total ?? _maxBytes;
        long received = 0;
        while (true)
        {
            // A body with data waiting completes reads synchronously and never looks at the token.
            cancellationToken.ThrowIfCancellationRequested();

            // Waiting for a buffer is waiting for our own disk, not for the server: it does not count as silence.
            var buffer = await sink.RentAsync(cancellationToken).ConfigureAwait(false);
            _watchdog.Touch();
            var filled = 0;
            var ended = false;
            try
            {
                while (filled < buffer.Length)
                {
                    var at = Offset + received + filled;
                    if (at > limit)
                    {
                        break;
                    }

                    var room = limit is { } bound ? (int)Math.Min(buffer.Length - filled, bound - at + 1) : buffer.Length - filled;
                    var n = await _body.ReadAsync(buffer.AsMemory(filled, room), _watchdog.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        ended = true;
                        break;
                    }

                    filled += n;
                    _watchdog.Touch();
                }
            }
            catch (OperationCanceledException) when (_watchdog.HasExpired && !cancellationToken.IsCancellationRequested)
            {
                sink.Commit(buffer, filled);
                throw new FileTransferException(
                    FileTransferErrorKind.Timeout,
                    $"The download from {_url.Host} stalled for {_watchdog.Timeout.TotalSeconds:0.#} s after {Offset + received + filled} bytes (the part is kept for resuming).");
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                sink.Commit(buffer, filled);
                throw new FileTransferException(
                    FileTransferErrorKind.TransferFailed,
                    $"The download from {_url.Host} broke off after {Offset + received + filled} bytes (the part is kept for resuming): {ex.Message}",
                    ex);
            }
            catch
            {
                sink.Commit(buffer, filled);
                throw;
            }

            if (limit is { } max && Offset + received + filled > max)
            {
                sink.Commit(buffer, (int)(max - Offset - received));
                throw Total is { } announced
                    ? new FileTransferException(FileTransferErrorKind.IntegrityCheckFailed, $"{_url.Host} sent more than the {announced} bytes it announced; stopped.")
                    : new FileTransferException(FileTransferErrorKind.Refused, $"The download from {_url.Host} is larger than the limit of {max} bytes; stopped.");
            }

            sink.Commit(buffer, filled);
            received += filled;
            onProgress(Offset + received);
            if (ended)
            {
                break;
            }
        }

        if (Total is { } expected && Offset + received != expected)
        {
            throw new FileTransferException(
                FileTransferErrorKind.TransferFailed, $"{_url.Host} announced {expected} bytes but sent {Offset + received} (the part is kept for resuming).");
        }

        return received;
    }

    public void Dispose()
    {
        _body.Dispose();
        _response.Dispose();
        _watchdog.Dispose();
    }
}
