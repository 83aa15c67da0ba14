using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace XmppTransfer.Core.Transport.Dns;

/// <summary>
/// A minimal stub resolver for SRV records (RFC 1035, RFC 2782): one question per query, UDP first, the same query
/// again over TCP when the answer is truncated.
/// </summary>
/// <remarks>
/// <para>
/// Each of <see cref="DnsClientOptions.Attempts"/> rounds asks every server in order. One exchange (UDP, or the TCP
/// retry) is bounded by <see cref="DnsClientOptions.Timeout"/>, so a query takes at most
/// Attempts x Servers x 2 x Timeout, and 2 x 2 s with the defaults and one silent server. Datagrams with another ID
/// or question are ignored until the exchange times out; the source port is the operating system's random ephemeral
/// port and the ID comes from a cryptographic random number generator.
/// </para>
/// <para>
/// NXDOMAIN and an empty answer give an empty list. SERVFAIL, REFUSED, any other error code, a malformed answer, a
/// socket error or a timeout moves on to the next server; when no server gives an answer the query throws
/// <see cref="XmppConnectionException"/>: kind <see cref="XmppErrorKind.Timeout"/> when every exchange timed out,
/// otherwise <see cref="XmppErrorKind.Dns"/> describing the last failure. An empty list therefore always means
/// "the DNS says there is nothing", never "we could not find out".
/// </para>
/// </remarks>
internal sealed class DnsClient
{
    private readonly DnsClientOptions _options;
    private readonly TimeProvider _timeProvider;

    public DnsClient(DnsClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The options the client was created with.</summary>
    public DnsClientOptions Options => _options;

    /// <summary>
    /// Looks up the SRV records of <paramref name="name"/> (for example <c>_xmpp-client._tcp.example.com</c>), in
    /// the order the server gave them. A record whose target is <c>"."</c> is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid ASCII DNS name.</exception>
    /// <exception cref="XmppConnectionException">No server answered usefully; see the remarks of the type.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<SrvRecord>> QuerySrvAsync(string name, CancellationToken cancellationToken)
    {
        string queryName = DnsQueryWriter.NormalizeName(name);
        cancellationToken.ThrowIfCancellationRequested();

        XmppConnectionException? lastFailure = null;
        bool onlyTimeouts = true;
        for (int attempt = 0; attempt < _options.Attempts; attempt++)
        {
            foreach (IPEndPoint server in _options.Servers)
            {
                DnsResponse response;
                try
                {
                    response = await QueryServerAsync(server, queryName, cancellationToken).ConfigureAwait(false);
                }
                catch (XmppConnectionException ex)
                {
                    lastFailure = ex;
                    onlyTimeouts &= ex.Kind == XmppErrorKind.Timeout;
                    continue;
                }

                switch (response.ResponseCode)
                {
                    case DnsResponseCode.NoError:
                        return response.Records;
                    case DnsResponseCode.NameError:
                        return [];
                    default:
                        onlyTimeouts = false;
                        lastFailure = new XmppConnectionException(
                            XmppErrorKind.Dns,
                            $"DNS server {server} answered {Describe(response.ResponseCode)} for '{queryName}' SRV.");
                        break;
                }
            }
        }

        throw onlyTimeouts
            ? new XmppConnectionException(
                XmppErrorKind.Timeout,
                $"No DNS server answered the SRV query for '{queryName}' ({_options.Servers.Count} server(s), "
                + $"{_options.Attempts} attempt(s), {_options.Timeout.TotalSeconds:0.###} s each).",
                lastFailure)
            : new XmppConnectionException(
                XmppErrorKind.Dns,
                $"The SRV query for '{queryName}' failed on every DNS server; last failure: {lastFailure?.Message}",
                lastFailure);
    }

    private async Task<DnsResponse> QueryServerAsync(IPEndPoint server, string queryName, CancellationToken cancellationToken)
    {
        ushort id = (ushort)RandomNumberGenerator.GetInt32(0, ushort.MaxValue + 1);
        byte[] query = DnsQueryWriter.BuildSrvQuery(id, queryName);
        DnsResponse response = await ExchangeAsync(server, query, id, queryName, overTcp: false, cancellationToken)
            .ConfigureAwait(false);
        if (response.IsTruncated)
        {
            response = await ExchangeAsync(server, query, id, queryName, overTcp: true, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>One exchange with one server under its own timeout; failures become <see cref="XmppConnectionException"/>.</summary>
    private async Task<DnsResponse> ExchangeAsync(
        IPEndPoint server,
        byte[] query,
        ushort id,
        string queryName,
        bool overTcp,
        CancellationToken cancellationToken)
    {
        string transport = overTcp ? "TCP" : "UDP";
        using var timeoutCts = new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linkedCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        try
        {
            return overTcp
                ? await ExchangeOverTcpAsync(server, query, id, queryName, linkedCts.Token).ConfigureAwait(false)
                : await ExchangeOverUdpAsync(server, query, id, queryName, linkedCts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or SocketException)
        {
            throw new OperationCanceledException("The DNS query was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (timeoutCts.IsCancellationRequested && ex is OperationCanceledException or SocketException)
        {
            throw new XmppConnectionException(
                XmppErrorKind.Timeout,
                $"DNS server {server} did not answer over {transport} within {_options.Timeout.TotalSeconds:0.###} s.",
                ex);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            string reason = ex is SocketException socketException ? socketException.SocketErrorCode.ToString() : ex.Message;
            throw new XmppConnectionException(XmppErrorKind.Dns, $"DNS query to {server} over {transport} failed: {reason}.", ex);
        }
    }

    private static async Task<DnsResponse> ExchangeOverUdpAsync(
        IPEndPoint server,
        byte[] query,
        ushort id,
        string queryName,
        CancellationToken cancellationToken)
    {
        // A connected socket only receives datagrams from the server and reports ICMP "port unreachable".
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);

        // One datagram: Header | Question
        _ = await socket.SendAsync(query, SocketFlags.None, cancellationToken).ConfigureAwait(false);

        byte[] buffer = ArrayPool<byte>.Shared.Rent(DnsWire.UdpResponseBufferSize);
        try
        {
            while (true)
            {
                // One datagram: Header | Question | Answer | Authority | Additional (at most 4096 octets read)
                int received = await socket.ReceiveAsync(
                    buffer.AsMemory(0, DnsWire.UdpResponseBufferSize),
                    SocketFlags.None,
                    cancellationToken).ConfigureAwait(false);
                if (DnsMessageReader.IsResponseTo(buffer.AsSpan(0, received), id, queryName))
                {
                    return DnsMessageReader.Parse(buffer.AsSpan(0, received), queryName);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<DnsResponse> ExchangeOverTcpAsync(
        IPEndPoint server,
        byte[] query,
        ushort id,
        string queryName,
        CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        using var stream = new NetworkStream(socket, ownsSocket: false);

        // RFC 1035 section 4.2.2: LENGTH (2, big-endian) | Header | Question
        byte[] frame = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
        query.CopyTo(frame, 2);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);

        // LENGTH (2, big-endian) | Header | Question | Answer | ...   (at most 65535 octets)
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, 2), cancellationToken).ConfigureAwait(false);
            int length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            return ParseTcpResponse(buffer.AsSpan(0, length), id, queryName);
        }
        catch (EndOfStreamException ex)
        {
            throw new XmppConnectionException(
                XmppErrorKind.Dns,
                $"DNS server {server} closed the TCP connection before the whole response for '{queryName}' arrived.",
                ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static DnsResponse ParseTcpResponse(ReadOnlySpan<byte> message, ushort id, string queryName) =>
        DnsMessageReader.IsResponseTo(message, id, queryName)
            ? DnsMessageReader.Parse(message, queryName)
            : throw new XmppConnectionException(
                XmppErrorKind.Dns,
                $"The DNS response over TCP for '{queryName}' does not match the query.");

    private static string Describe(DnsResponseCode code) => code switch
    {
        DnsResponseCode.FormatError => "FORMERR",
        DnsResponseCode.ServerFailure => "SERVFAIL",
        DnsResponseCode.NotImplemented => "NOTIMP",
        DnsResponseCode.Refused => "REFUSED",
        _ => $"RCODE {(int)code}",
    };
}
