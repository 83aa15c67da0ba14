using System.Net.Sockets;
using XmppTransfer.FileTransfer.Storage.Linux;

namespace XmppTransfer.FileTransfer;

public sealed partial class FileTransferManager
{
    /// <summary>
    /// The zero-copy receive of a socket bytestream that hashes nothing (Linux; see <see cref="SocketFileSplice"/>), with
    /// the same bounds and errors as <see cref="PumpAsync"/>: the inactivity watchdog, reads capped at the offered size,
    /// the write-stall timeout (<see cref="FileTransferOptions.WriteStallTimeout"/>), and every byte that reached the file
    /// kept for resuming when it fails.
    /// </summary>
    /// <returns>
    /// The bytes received, and whether this receive is finished (all of them, or the peer closed). Not finished: the
    /// system cannot splice here, and the caller receives the rest the ordinary way from where this stopped.
    /// </returns>
    private async Task<(long Received, bool Finished)> SpliceAsync(
        IncomingFileOffer offer,
        Socket socket,
        FileStream part,
        long expected,
        long resumeFrom,
        InactivityWatchdog watchdog,
        ProgressReporter reporter,
        CancellationToken cancellationToken)
    {
        using var splice = SocketFileSplice.TryCreate(Options.WriteStallTimeout, Options.TimeProvider, FileSplice);
        if (splice is null)
        {
            return (0, false);
        }

        FileTransferLog.Splicing(Logger, offer.Sid, offer.From.ToString());
        try
        {
            watchdog.Touch();
            var outcome = await splice.MoveAsync(
                socket,
                part.SafeFileHandle,
                resumeFrom,
                expected,
                offer.SafeName,
                moved =>
                {
                    watchdog.Touch();
                    reporter.Report(resumeFrom + moved);
                },
                watchdog.Token,
                cancellationToken).ConfigureAwait(false);
            if (outcome == SpliceOutcome.Unsupported)
            {
                FileTransferLog.SpliceUnsupported(Logger, offer.Sid, offer.From.ToString(), splice.Moved);
                return (splice.Moved, false);
            }

            return (splice.Moved, true);
        }
        catch (Exception) when (splice.Stalled)
        {
            // A write that hangs (a dead disk or NFS server), given up on at the stall timeout (LocalIo) or after a cancel
            // (cancelled): cutting the part would hang with it, and its length covers only bytes written in order, so it is
            // kept as it is, as after a stalled buffered write (PartData.SettleAsync).
            throw;
        }
        catch (OperationCanceledException) when (watchdog.HasExpired && !cancellationToken.IsCancellationRequested)
        {
            part.SetLength(resumeFrom + splice.Moved);
            throw SilentSender(offer, watchdog, resumeFrom + splice.Moved);
        }
        catch (IOException ex)
        {
            part.SetLength(resumeFrom + splice.Moved);
            throw new FileTransferException(
                FileTransferErrorKind.TransferFailed,
                $"Receiving {offer.SafeName} from {offer.From} failed after {resumeFrom + splice.Moved} of {offer.File.Size} bytes: {ex.Message}",
                ex);
        }
        catch
        {
            // Cancelled, or the disk failed: what reached the file is exactly what we keep (this also frees the preallocated rest).
            part.SetLength(resumeFrom + splice.Moved);
            throw;
        }
    }
}
