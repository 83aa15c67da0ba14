using System.Net.Sockets;

namespace XmppTransfer.Bytestreams.Socks5.Wire;

/// <summary>Reads, writes and error translation shared by both sides of the SOCKS5 handshake.</summary>
internal static class Socks5Io
{
    /// <summary>A linked token source that also fires after <paramref name="timeout"/>.</summary>
    public static CancellationTokenSource CreateTimeoutSource(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ValidateTimeout(timeout);
        CancellationTokenSource source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(timeout);
        return source;
    }

    /// <summary>
    /// A token source that fires after <paramref name="timeout"/> measured on <paramref name="timeProvider"/>; its timer goes
    /// with it on dispose. Link it with the caller's token for the handshake's token.
    /// </summary>
    public static CancellationTokenSource CreateDeadline(TimeSpan timeout, TimeProvider timeProvider)
    {
        ValidateTimeout(timeout);
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new CancellationTokenSource(timeout, timeProvider);
    }

    private static void ValidateTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive or infinite.");
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; short and split reads are joined.</summary>
    public static async ValueTask ReadExactlyAsync(Stream stream, Memory<byte> buffer, string frame, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new BytestreamException(BytestreamErrorKind.Closed, $"SOCKS5 peer closed the connection in the middle of the {frame}.", ex);
        }
    }

    /// <summary>
    /// Maps a failure of a handshake step to the documented exceptions: the caller's cancellation stays an
    /// <see cref="OperationCanceledException"/> with the caller's token; the timeout becomes a Timeout
    /// <see cref="BytestreamException"/>; transport errors become Closed. Returns null for exceptions to rethrow as they are.
    /// </summary>
    public static Exception? Translate(Exception exception, CancellationTokenSource timeoutSource, TimeSpan timeout,
        string side, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return exception is OperationCanceledException oce && oce.CancellationToken == cancellationToken
                    ? null
                    : new OperationCanceledException(exception.Message, exception, cancellationToken);
            case OperationCanceledException when timeoutSource.IsCancellationRequested:
                return new BytestreamException(BytestreamErrorKind.Timeout,
                    $"The SOCKS5 {side} handshake did not complete within {timeout.TotalMilliseconds:0} ms.", exception);
            case IOException or SocketException or ObjectDisposedException:
                return new BytestreamException(BytestreamErrorKind.Closed,
                    $"The SOCKS5 {side} handshake failed: the connection was closed or reset.", exception);
            default:
                return null;
        }
    }
}
