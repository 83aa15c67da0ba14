using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>
/// A scripted DNS server on 127.0.0.1, UDP and TCP on the same ephemeral port. Names answer as scripted with
/// <see cref="Set"/>; unknown names get NXDOMAIN; <see cref="Silent"/> makes it drop everything. Every query it
/// receives is published on <see cref="Queries"/>, so tests wait on it instead of sleeping.
/// </summary>
internal sealed class FakeDnsServer : IAsyncDisposable
{
    private const int MaxBindAttempts = 50;

    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, FakeDnsEntry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Channel<FakeDnsQuery> _queries = Channel.CreateUnbounded<FakeDnsQuery>();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private volatile bool _silent;

    private FakeDnsServer(Socket udp, Socket tcp)
    {
        _udp = udp;
        _tcp = tcp;
        EndPoint = (IPEndPoint)udp.LocalEndPoint!;
        _udpLoop = Task.Run(ServeUdpAsync);
        _tcpLoop = Task.Run(ServeTcpAsync);
    }

    /// <summary>Where to send queries, over UDP or TCP.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Receive (and publish) queries but answer none.</summary>
    public bool Silent
    {
        get => _silent;
        set => _silent = value;
    }

    public ChannelReader<FakeDnsQuery> Queries => _queries.Reader;

    public static FakeDnsServer Start()
    {
        for (int attempt = 0; ; attempt++)
        {
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)udp.LocalEndPoint!).Port));
                tcp.Listen(16);
                return new FakeDnsServer(udp, tcp);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < MaxBindAttempts)
            {
                udp.Dispose();
                tcp.Dispose();
            }
        }
    }

    public FakeDnsServer Set(string name, FakeDnsEntry entry)
    {
        _entries[name] = entry;
        return this;
    }

    /// <summary>The next query received, or a failed test after 10 s.</summary>
    public async Task<FakeDnsQuery> NextQueryAsync() =>
        await _queries.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>The queries received so far that nobody has read.</summary>
    public List<FakeDnsQuery> DrainQueries()
    {
        var queries = new List<FakeDnsQuery>();
        while (_queries.Reader.TryRead(out FakeDnsQuery? query))
        {
            queries.Add(query);
        }

        return queries;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Dispose();
        await Task.WhenAll(_udpLoop, _tcpLoop).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        byte[] buffer = new byte[65536];
        var anyEndPoint = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, anyEndPoint, _stop.Token);
            }
            catch (Exception ex) when (_stop.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP error for an earlier reply; the client has gone.
                continue;
            }

            byte[] query = buffer[..received.ReceivedBytes];
            foreach (byte[] reply in Answer(query, overTcp: false))
            {
                try
                {
                    _ = await _udp.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    break;
                }
            }
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            using (connection)
            using (var stream = new NetworkStream(connection, ownsSocket: false))
            {
                try
                {
                    byte[] length = new byte[2];
                    while (true)
                    {
                        // LENGTH (2) | query; the client may close after its answer.
                        await stream.ReadExactlyAsync(length, _stop.Token);
                        byte[] query = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                        await stream.ReadExactlyAsync(query, _stop.Token);
                        foreach (byte[] reply in Answer(query, overTcp: true))
                        {
                            byte[] frame = new byte[2 + reply.Length];
                            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
                            reply.CopyTo(frame, 2);
                            await stream.WriteAsync(frame, _stop.Token);
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    // Connection closed, or the server is stopping.
                }
            }
        }
    }

    private List<byte[]> Answer(byte[] query, bool overTcp)
    {
        if (query.Length < 12)
        {
            return [];
        }

        ushort id = BinaryPrimitives.ReadUInt16BigEndian(query);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(2));
        (string name, int end) = ReadPlainName(query, 12);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(end));
        _queries.Writer.TryWrite(new FakeDnsQuery(id, name, type, flags, overTcp));

        if (_silent)
        {
            return [];
        }

        ushort recursionDesired = (ushort)(flags & 0x0100);
        ushort responseFlags = (ushort)(0x8000 | 0x0400 | recursionDesired | 0x0080);
        if (!_entries.TryGetValue(name, out FakeDnsEntry? entry))
        {
            return [DnsMessageBuilder.Response(id, (ushort)(responseFlags | 3), name, type, [])];
        }

        if (entry.Silent)
        {
            return [];
        }

        if (entry.Raw is not null)
        {
            return [entry.Raw(query)];
        }

        var replies = new List<byte[]>();
        if (!overTcp && entry.DecoysFirst)
        {
            replies.Add([0xde, 0xad, 0xbe]);
            replies.Add(DnsMessageBuilder.Response((ushort)(id ^ 0x5a5a), responseFlags, name, type, entry.Answers, entry.Compress));
            replies.Add(DnsMessageBuilder.Response(
                id,
                responseFlags,
                "decoy." + name,
                type,
                [FakeDnsRecord.Srv(0, 0, 1, "decoy.invalid", "decoy." + name)]));
        }

        replies.Add(!overTcp && entry.TruncateOverUdp
            ? DnsMessageBuilder.Response(id, (ushort)(responseFlags | 0x0200), name, type, [])
            : DnsMessageBuilder.Response(id, (ushort)(responseFlags | entry.ResponseCode), name, type, entry.Answers, entry.Compress));
        return replies;
    }

    /// <summary>Queries from the client under test carry an uncompressed name right after the header.</summary>
    private static (string Name, int End) ReadPlainName(byte[] message, int offset)
    {
        var builder = new StringBuilder();
        while (message[offset] != 0)
        {
            int length = message[offset];
            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            builder.Append(Encoding.ASCII.GetString(message, offset + 1, length));
            offset += 1 + length;
        }

        return (builder.ToString(), offset + 1);
    }
}
