using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>What a sender offers when it has more candidates than a target tries (the first 16).</summary>
public sealed class OfferedStreamHostsTests
{
    private static readonly Jid s_me = Jid.Parse("alice@example.test/laptop");

    [Fact]
    public void Few_candidates_are_offered_as_they_are_direct_ones_first()
    {
        var hosts = Socks5BytestreamManager.FitCandidates(Direct(3), Proxies(2), external: null);

        Assert.Equal(["10.0.0.0", "10.0.0.1", "10.0.0.2", "proxy0.example.test", "proxy1.example.test"], hosts.Select(h => h.Host));
    }

    [Fact]
    public void Many_interfaces_do_not_push_the_proxies_out_of_the_sixteen_a_target_tries()
    {
        var hosts = Socks5BytestreamManager.FitCandidates(Direct(30), Proxies(2), external: null);

        Assert.Equal(16, hosts.Count);
        Assert.Equal(Enumerable.Range(0, 14).Select(i => $"10.0.0.{i}"), hosts.Take(14).Select(h => h.Host));
        Assert.Equal(["proxy0.example.test", "proxy1.example.test"], hosts.Skip(14).Select(h => h.Host));
    }

    [Fact]
    public void The_configured_external_address_is_kept_when_interface_addresses_are_dropped()
    {
        var direct = Direct(30);
        direct.Add(new StreamHost(s_me, "203.0.113.7", 7777));

        var hosts = Socks5BytestreamManager.FitCandidates(direct, Proxies(1), external: "203.0.113.7");

        Assert.Equal(16, hosts.Count);
        Assert.Equal("10.0.0.13", hosts[13].Host);
        Assert.Equal("203.0.113.7", hosts[14].Host);
        Assert.Equal("proxy0.example.test", hosts[15].Host);
    }

    [Fact]
    public void An_external_address_that_is_also_an_interface_address_keeps_its_place_or_is_kept_last()
    {
        var early = Socks5BytestreamManager.FitCandidates(Direct(30), Proxies(1), external: "10.0.0.3");
        var late = Socks5BytestreamManager.FitCandidates(Direct(30), Proxies(1), external: "10.0.0.25");

        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"10.0.0.{i}"), early.Take(15).Select(h => h.Host));
        Assert.Equal([.. Enumerable.Range(0, 14).Select(i => $"10.0.0.{i}"), "10.0.0.25", "proxy0.example.test"], late.Select(h => h.Host));
    }

    [Fact]
    public void Many_proxies_leave_room_for_the_direct_candidates()
    {
        var few = Socks5BytestreamManager.FitCandidates(Direct(2), Proxies(20), external: null);
        var many = Socks5BytestreamManager.FitCandidates(Direct(30), Proxies(20), external: null);

        Assert.Equal(["10.0.0.0", "10.0.0.1"], few.Take(2).Select(h => h.Host));
        Assert.Equal(16, few.Count);
        Assert.Equal(8, many.Count(h => h.Host.StartsWith("10.", StringComparison.Ordinal)));
        Assert.Equal(8, many.Count(h => h.Host.StartsWith("proxy", StringComparison.Ordinal)));
    }

    private static List<StreamHost> Direct(int count) => [.. Enumerable.Range(0, count).Select(i => new StreamHost(s_me, $"10.0.0.{i}", 7777))];

    private static List<StreamHost> Proxies(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new StreamHost(Jid.Parse($"proxy{i}.example.test"), $"proxy{i}.example.test", 7777))];
}
