using System.Globalization;

namespace XmppTransfer.Proxy;

/// <summary>
/// Counters and gauges of a <see cref="Socks5Proxy"/>, updated lock-free. <see cref="WritePrometheus"/>
/// renders them in the Prometheus text exposition format (version 0.0.4).
/// </summary>
public sealed class ProxyMetrics
{
    private static readonly ProxyRefusalReason[] s_refusalReasons = Enum.GetValues<ProxyRefusalReason>();
    private static readonly ProxyCloseReason[] s_closeReasons = Enum.GetValues<ProxyCloseReason>();

    private readonly long[] _refusals = new long[s_refusalReasons.Length];
    private static readonly ProxyActivationRefusal[] s_activationRefusals = Enum.GetValues<ProxyActivationRefusal>();

    private readonly long[] _closures = new long[s_closeReasons.Length];
    private readonly long[] _activationRefusals = new long[s_activationRefusals.Length];
    private long _addressQueries;
    private long _totalConnections;
    private long _openConnections;
    private long _pendingPairs;
    private long _activePairs;
    private long _bytesRelayed;
    private long _bytesDiscarded;
    private long _activations;
    private long _handshakeFailures;
    private long _relayBufferBytes;

    internal ProxyMetrics()
    {
    }

    /// <summary>Connections accepted since start, refused ones included.</summary>
    public long TotalConnections => Volatile.Read(ref _totalConnections);

    /// <summary>Connections open now.</summary>
    public long OpenConnections => Volatile.Read(ref _openConnections);

    /// <summary>Streams with one or two legs, not yet activated.</summary>
    public long PendingPairs => Volatile.Read(ref _pendingPairs);

    /// <summary>Streams relaying now.</summary>
    public long ActivePairs => Volatile.Read(ref _activePairs);

    /// <summary>Bytes relayed since start, both directions.</summary>
    public long BytesRelayed => Volatile.Read(ref _bytesRelayed);

    /// <summary>Bytes received before activation and dropped.</summary>
    public long BytesDiscarded => Volatile.Read(ref _bytesDiscarded);

    /// <summary>Successful activations since start.</summary>
    public long Activations => Volatile.Read(ref _activations);

    /// <summary>Connections whose SOCKS5 handshake failed (garbage, timeout, early close).</summary>
    public long HandshakeFailures => Volatile.Read(ref _handshakeFailures);

    /// <summary>
    /// Bytes of relay buffers held now: each is rented for one read and its write and returned, so this follows the
    /// data in flight through the proxy; an idle stream holds none.
    /// </summary>
    public long RelayBufferBytes => Volatile.Read(ref _relayBufferBytes);

    /// <summary>Connections refused for <paramref name="reason"/> since start.</summary>
    public long GetRefusals(ProxyRefusalReason reason) => Volatile.Read(ref _refusals[(int)reason]);

    /// <summary>Address queries answered since start.</summary>
    public long AddressQueries => Volatile.Read(ref _addressQueries);

    /// <summary>Bytestreams requests (activation or address query) refused for <paramref name="reason"/> since start.</summary>
    public long GetActivationRefusals(ProxyActivationRefusal reason) => Volatile.Read(ref _activationRefusals[(int)reason]);

    /// <summary>Streams closed for <paramref name="reason"/> since start.</summary>
    public long GetClosures(ProxyCloseReason reason) => Volatile.Read(ref _closures[(int)reason]);

    internal void ConnectionAccepted() => Interlocked.Increment(ref _totalConnections);
    internal void ConnectionOpened() => Interlocked.Increment(ref _openConnections);
    internal void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);
    internal void Refused(ProxyRefusalReason reason) => Interlocked.Increment(ref _refusals[(int)reason]);
    internal void HandshakeFailed() => Interlocked.Increment(ref _handshakeFailures);
    internal void PairCreated() => Interlocked.Increment(ref _pendingPairs);

    internal void PairActivated()
    {
        Interlocked.Decrement(ref _pendingPairs);
        Interlocked.Increment(ref _activePairs);
        Interlocked.Increment(ref _activations);
    }

    internal void PairClosed(bool wasActive, ProxyCloseReason reason)
    {
        if (wasActive)
        {
            Interlocked.Decrement(ref _activePairs);
        }
        else
        {
            Interlocked.Decrement(ref _pendingPairs);
        }

        Interlocked.Increment(ref _closures[(int)reason]);
    }

    internal void AddressQueried() => Interlocked.Increment(ref _addressQueries);
    internal void ActivationRefused(ProxyActivationRefusal reason) => Interlocked.Increment(ref _activationRefusals[(int)reason]);
    internal void Relayed(long bytes) => Interlocked.Add(ref _bytesRelayed, bytes);
    internal void Discarded(long bytes) => Interlocked.Add(ref _bytesDiscarded, bytes);
    internal void RelayBufferRented(int bytes) => Interlocked.Add(ref _relayBufferBytes, bytes);
    internal void RelayBufferReturned(int bytes) => Interlocked.Add(ref _relayBufferBytes, -bytes);

    /// <summary>Writes every metric with its HELP and TYPE lines, '\n' line ends.</summary>
    public void WritePrometheus(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Write(writer, "xmpptransfer_proxy_connections_total", "counter", "SOCKS5 connections accepted, refused ones included.", TotalConnections);
        Write(writer, "xmpptransfer_proxy_open_connections", "gauge", "SOCKS5 connections open now.", OpenConnections);
        Write(writer, "xmpptransfer_proxy_pending_pairs", "gauge", "Streams with one or two legs waiting for activation.", PendingPairs);
        Write(writer, "xmpptransfer_proxy_active_pairs", "gauge", "Streams relaying now.", ActivePairs);
        Write(writer, "xmpptransfer_proxy_relayed_bytes_total", "counter", "Bytes relayed, both directions.", BytesRelayed);
        Write(writer, "xmpptransfer_proxy_discarded_bytes_total", "counter", "Bytes received before activation and dropped.", BytesDiscarded);
        Write(writer, "xmpptransfer_proxy_relay_buffer_bytes", "gauge", "Bytes of relay buffers held now (data in flight).", RelayBufferBytes);
        Write(writer, "xmpptransfer_proxy_activations_total", "counter", "Streams activated.", Activations);
        Write(writer, "xmpptransfer_proxy_handshake_failures_total", "counter", "Connections whose SOCKS5 handshake failed.", HandshakeFailures);

        Header(writer, "xmpptransfer_proxy_refusals_total", "counter", "Connections refused, by reason.");
        foreach (ProxyRefusalReason reason in s_refusalReasons)
        {
            Sample(writer, "xmpptransfer_proxy_refusals_total", Label(reason.ToString()), GetRefusals(reason));
        }

        Header(writer, "xmpptransfer_proxy_stream_closures_total", "counter", "Streams closed, by reason.");
        foreach (ProxyCloseReason reason in s_closeReasons)
        {
            Sample(writer, "xmpptransfer_proxy_stream_closures_total", Label(reason.ToString()), GetClosures(reason));
        }

        Write(writer, "xmpptransfer_proxy_address_queries_total", "counter", "Bytestreams address queries answered.", AddressQueries);
        Header(writer, "xmpptransfer_proxy_request_refusals_total", "counter", "Bytestreams requests (activation, address query) refused, by reason.");
        foreach (ProxyActivationRefusal reason in s_activationRefusals)
        {
            Sample(writer, "xmpptransfer_proxy_request_refusals_total", Label(reason.ToString()), GetActivationRefusals(reason));
        }
    }

    private static void Write(TextWriter writer, string name, string type, string help, long value)
    {
        Header(writer, name, type, help);
        Sample(writer, name, null, value);
    }

    private static void Header(TextWriter writer, string name, string type, string help)
    {
        writer.Write("# HELP ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(help);
        writer.Write("\n# TYPE ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(type);
        writer.Write('\n');
    }

    private static void Sample(TextWriter writer, string name, string? reason, long value)
    {
        writer.Write(name);
        if (reason is not null)
        {
            writer.Write("{reason=\"");
            writer.Write(reason);
            writer.Write("\"}");
        }

        writer.Write(' ');
        writer.Write(value.ToString(CultureInfo.InvariantCulture));
        writer.Write('\n');
    }

    /// <summary>PascalCase enum name to snake_case label value (PerAddressLimit → per_address_limit).</summary>
    private static string Label(string name)
    {
        System.Text.StringBuilder builder = new(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
