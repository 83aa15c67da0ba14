using System.Buffers;

namespace XmppTransfer.Bytestreams.Socks5.Wire;

/// <summary>
/// The client (Target or Requester) side of the XEP-0065 SOCKS5 handshake: no authentication,
/// CONNECT to the 40-character DST.ADDR, port 0.
/// </summary>
internal static class Socks5ClientHandshake
{
    /// <summary>
    /// Negotiates a SOCKS5 connection for <paramref name="dstAddr"/> on an already connected stream.
    /// The whole handshake must finish within <paramref name="timeout"/> (Timeout <see cref="BytestreamException"/>);
    /// cancelling <paramref name="cancellationToken"/> raises <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task ConnectAsync(Stream stream, string dstAddr, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!Socks5Address.IsValid(dstAddr))
        {
            throw new ArgumentException("DST.ADDR must be 40 hex characters.", nameof(dstAddr));
        }

        using CancellationTokenSource timeoutSource = Socks5Io.CreateTimeoutSource(timeout, cancellationToken);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Socks5Frame.MaxReplyLength);
        try
        {
            await NegotiateAsync(stream, dstAddr, buffer, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (Socks5Io.Translate(ex, timeoutSource, timeout, "client", cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task NegotiateAsync(Stream stream, string dstAddr, byte[] buffer, CancellationToken cancellationToken)
    {
        // C→S greeting        +-----+----------+----------+
        //                     | VER | NMETHODS | METHODS  |
        //                     |  05 |    01    |    00    |
        buffer[0] = Socks5Frame.Version;
        buffer[1] = 1;
        buffer[2] = Socks5Frame.MethodNoAuthentication;
        await stream.WriteAsync(buffer.AsMemory(0, 3), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        // S→C method choice   +-----+--------+
        //                     | VER | METHOD |   05 00; 05 FF = no acceptable method
        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 2), "method selection", cancellationToken).ConfigureAwait(false);
        if (buffer[0] != Socks5Frame.Version)
        {
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The streamhost answered the SOCKS5 greeting with version 0x{buffer[0]:x2}, not 0x05.");
        }

        if (buffer[1] == Socks5Frame.MethodNoneAcceptable)
        {
            throw new BytestreamException(BytestreamErrorKind.Socks5Handshake,
                "The streamhost accepts none of our SOCKS5 methods (we offer only 'no authentication').");
        }

        if (buffer[1] != Socks5Frame.MethodNoAuthentication)
        {
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The streamhost chose SOCKS5 method 0x{buffer[1]:x2}, which we did not offer.");
        }

        // C→S CONNECT, in ONE write (Prosody-style proxies parse one message per read):
        // +-----+-----+-----+------+-----+--------------+----------+
        // | VER | CMD | RSV | ATYP | LEN |   DST.ADDR   | DST.PORT |
        // |  05 |  01 |  00 |  03  |  28 | 40 hex ASCII |   00 00  |
        int length = Socks5Frame.WriteAddressFrame(buffer, Socks5Frame.CommandConnect, dstAddr);
        await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        // S→C reply
        // +-----+-----+-----+------+------------------+----------+
        // | VER | REP | RSV | ATYP |     BND.ADDR     | BND.PORT |
        // |  05 |  00 |  00 | 1/3/4| 4 / 1+len / 16   |    2     |
        await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 4), "CONNECT reply", cancellationToken).ConfigureAwait(false);
        if (buffer[0] != Socks5Frame.Version)
        {
            throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                $"The streamhost's CONNECT reply has version 0x{buffer[0]:x2}, not 0x05.");
        }

        byte rep = buffer[1];
        if (rep != (byte)Socks5ReplyCode.Succeeded)
        {
            throw new BytestreamException(BytestreamErrorKind.Refused,
                $"The streamhost refused the SOCKS5 CONNECT: REP 0x{rep:x2} ({Socks5Frame.Describe(rep)}).");
        }

        switch (buffer[3])
        {
            case Socks5Frame.AddressTypeIPv4:
                await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 4 + 2), "CONNECT reply", cancellationToken).ConfigureAwait(false);
                break;
            case Socks5Frame.AddressTypeIPv6:
                await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 16 + 2), "CONNECT reply", cancellationToken).ConfigureAwait(false);
                break;
            case Socks5Frame.AddressTypeDomainName:
                await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, 1), "CONNECT reply", cancellationToken).ConfigureAwait(false);
                int addressLength = buffer[0];
                await Socks5Io.ReadExactlyAsync(stream, buffer.AsMemory(0, addressLength + 2), "CONNECT reply", cancellationToken)
                    .ConfigureAwait(false);
                // BND.PORT is not checked: the address is what identifies the stream, and some proxies
                // report their real port there.
                if (!Socks5Frame.EchoMatches(buffer.AsSpan(0, addressLength), dstAddr))
                {
                    throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                        "The streamhost's CONNECT reply does not echo our DST.ADDR.");
                }

                break;
            default:
                throw new BytestreamException(BytestreamErrorKind.ProtocolViolation,
                    $"The streamhost's CONNECT reply has unknown address type 0x{buffer[3]:x2}.");
        }
    }
}
