using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Logging;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

public sealed class ProxyMetricsTests
{
    [Fact]
    public async Task Prometheus_text_contains_every_counter_with_help_and_type()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync(o => o with { MaxConnectionsPerAddress = 2 });
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            using Socket refused = await harness.ConnectAsync();
            await WaitClosedAsync(refused);
        }

        using StringWriter writer = new();
        harness.Metrics.WritePrometheus(writer);
        string text = writer.ToString();

        Assert.Contains("# HELP xmpptransfer_proxy_connections_total ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE xmpptransfer_proxy_connections_total counter\nxmpptransfer_proxy_connections_total 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE xmpptransfer_proxy_active_pairs gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("xmpptransfer_proxy_activations_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains("xmpptransfer_proxy_handshake_failures_total 0\n", text, StringComparison.Ordinal);
        Assert.Contains("xmpptransfer_proxy_relayed_bytes_total ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE xmpptransfer_proxy_relay_buffer_bytes gauge\nxmpptransfer_proxy_relay_buffer_bytes ", text, StringComparison.Ordinal);
        Assert.Contains("xmpptransfer_proxy_refusals_total{reason=\"per_address_limit\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("xmpptransfer_proxy_stream_closures_total{reason=\"idle_timeout\"} 0\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_event_ids_are_unique_and_in_the_proxy_range()
    {
        int[] ids = typeof(ProxyLog).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToArray();

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 4000, 4999));
    }
}
