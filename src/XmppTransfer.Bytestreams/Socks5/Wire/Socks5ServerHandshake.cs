using System.Buffers;

namespace XmppTransfer.Bytestreams.Socks5.Wire;

/// <summary>
/// The streamhost side of the XEP-0065 SOCKS5 handshake: accepts method 00 only and a CONNECT with
/// ATYP 03, a 40-character hex DST.ADDR and port 0. Reads exactly the greeting and the CONNECT request,
/// never a byte beyond, whether the input arrives split byte by byte or coalesced.
/// </summary>
internal static class Socks5ServerHandshake
{
    /// <summary>
    /// Reads the greeting, answers <c>05 00</c>, reads and validates the CONNECT request and returns its
    /// DST.ADDR in lower case. The caller then answers with <see cref="SendReplyAsync"/>. Invalid requests get
    /// the matching failure reply (05 FF, REP 07, 08 or 02) before a <see cref="BytestreamException"/> is thrown.
    /// <paramref name="timeout"/> is measured on <paramref name="timeProvider"/>.
    /// </summary>
    public static async Task<string> AcceptAsync(Stream stream, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using CancellationTokenSource deadline = Socks5Io.CreateDeadline(timeout, timeProvider);
        using CancellationTokenSource timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Socks5Frame.MaxGreetingLength);
        try
        {
            return await NegotiateAsync(stream, buffer, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (Socks5Io.Translate(ex, timeoutSource, timeout, "server", cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the CONNECT reply <c>05 rep 00 03 28 &lt;dstAddr&gt; 00 00</c>, echoing DST.ADDR and port 0.
    /// </summary>
    public static async ValueTask SendReplyAsync(Stream stream, Socks5ReplyCode rep, string dstAddr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Socks5Frame.AddressFrameLength);
        try
        {
            // +-----+-----+-----+------+-----+--------------+----------+
            // | VER | REP | RSV | ATYP | LEN |   BND.ADDR   | BND.PORT |
            // |  05 | rep |  00 |  03  |  28 | 40 hex ASCII |   00 00  |
            int length = Socks5Frame.WriteAddressFrame(buffer, (byte)rep, dstAddr);
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<string> NegotiateAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        // C→S greeting  +-----+----------+-------------+
        //               | VER | NMETHODS | METHODS     |   at most 2 + 255 bytes
        //               |  05 |   1..255 | NMETHODS    |
        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 2), "greeting", cancellationToken).ConfigureAwait(false);
        if (buffer[0] != Socks5Frame.Version)
        {
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client's greeting has version 0x{buffer[0]:x2}, not 0x05.");
        }

        int methodCount = buffer[1];
        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, methodCount), "greeting", cancellationToken).ConfigureAwait(false);
        if (!buffer.AsSpan(0, methodCount).Contains(Socks5Frame.MethodNoAuthentication))
        {
            // S→C  05 FF: no acceptable method; the client must close.
            await TryWriteAsync(stream, buffer, [Socks5Frame.Version, Socks5Frame.MethodNoneAcceptable], cancellationToken)
                .ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.Socks5Handshake,
                "The client does not offer SOCKS5 method 00 (no authentication).");
        }

        // S→C method choice  +-----+--------+
        //                    |  05 |   00   |
        buffer[0] = Socks5Frame.Version;
        buffer[1] = Socks5Frame.MethodNoAuthentication;
        await stream.WriteAsync(buffer.AsMemory(0, 2), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        // C→S CONNECT
        // +-----+-----+-----+------+-----+--------------+----------+
        // | VER | CMD | RSV | ATYP | LEN |   DST.ADDR   | DST.PORT |
        // |  05 |  01 |  00 |  03  |  28 | 40 hex ASCII |   00 00  |
        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 5), "CONNECT request", cancellationToken).ConfigureAwait(false);
        if (buffer[0] != Socks5Frame.Version)
        {
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client's CONNECT request has version 0x{buffer[0]:x2}, not 0x05.");
        }

        if (buffer[1] != Socks5Frame.CommandConnect)
        {
            byte command = buffer[1];
            await FailAsync(stream, buffer, Socks5ReplyCode.CommandNotSupported, cancellationToken).ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client sent SOCKS5 command 0x{command:x2}; only CONNECT (0x01) is supported.");
        }

        if (buffer[3] != Socks5Frame.AddressTypeDomainName)
        {
            byte addressType = buffer[3];
            await FailAsync(stream, buffer, Socks5ReplyCode.AddressTypeNotSupported, cancellationToken).ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client sent address type 0x{addressType:x2}; XEP-0065 requires 0x03 (domain name).");
        }

        if (buffer[4] != Socks5Address.Length)
        {
            byte addressLength = buffer[4];
            await FailAsync(stream, buffer, Socks5ReplyCode.NotAllowed, cancellationToken).ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client's DST.ADDR is {addressLength} bytes long; XEP-0065 requires 40.");
        }

        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, Socks5Address.Length + 2), "CONNECT request", cancellationToken)
            .ConfigureAwait(false);
        if (!Socks5Frame.TryNormalizeAddress(buffer.AsSpan(0, Socks5Address.Length), out string dstAddr))
        {
            await FailAsync(stream, buffer, Socks5ReplyCode.NotAllowed, cancellationToken).ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation, "The client's DST.ADDR is not 40 hex digits.");
        }

        if (buffer[Socks5Address.Length] != 0 || buffer[Socks5Address.Length + 1] != 0)
        {
            int port = (buffer[Socks5Address.Length] << 8) | buffer[Socks5Address.Length + 1];
            await FailAsync(stream, buffer, Socks5ReplyCode.NotAllowed, cancellationToken).ConfigureAwait(false);
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The client's DST.PORT is {port}; XEP-0065 requires 0.");
        }

        return dstAddr;
    }

    private static ValueTask FailAsync(Stream stream, byte[] buffer, Socks5ReplyCode rep, CancellationToken cancellationToken)
    {
        // S→C failure  05 rep 00 01 00 00 00 00 00 00  (BND.ADDR 0.0.0.0, BND.PORT 0: nothing valid to echo)
        Span<byte> frame = stackalloc byte[Socks5Frame.FailureReplyLength];
        int length = Socks5Frame.WriteFailureReply(frame, (byte)rep);
        return TryWriteAsync(stream, buffer, frame[..length], cancellationToken);
    }

    private static ValueTask TryWriteAsync(Stream stream, byte[] buffer, ReadOnlySpan<byte> frame, CancellationToken cancellationToken)
    {
        frame.CopyTo(buffer);
        return WriteIgnoringTransportErrorsAsync(stream, buffer.AsMemory(0, frame.Length), cancellationToken);
    }

    private static async ValueTask WriteIgnoringTransportErrorsAsync(Stream stream, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client is already gone; the protocol error we are about to raise says more.
        }
    }
}
