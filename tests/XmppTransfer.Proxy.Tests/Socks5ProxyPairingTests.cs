using System.Net.Sockets;
using System.Text;
using XmppTransfer.Bytestreams;
using static XmppTransfer.Proxy.Tests.ProxyHarness;

namespace XmppTransfer.Proxy.Tests;

public sealed class Socks5ProxyPairingTests
{
    [Fact]
    public async Task Activate_with_only_the_first_leg_connected_is_one_leg_only()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);

        Assert.Equal(ActivationResult.OneLegOnly, harness.Proxy.TryActivate(hash));
    }

    [Fact]
    public async Task Activate_with_an_unknown_or_malformed_hash_is_not_found()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();

        Assert.Equal(ActivationResult.NotFound, harness.Proxy.TryActivate(NewHash()));
        Assert.Equal(ActivationResult.NotFound, harness.Proxy.TryActivate("not a hash"));
    }

    [Fact]
    public async Task Second_activation_is_already_active()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, string hash) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            Assert.Equal(ActivationResult.AlreadyActive, harness.Proxy.TryActivate(hash));
            Assert.Equal(ActivationResult.AlreadyActive, harness.Proxy.TryActivate(hash.ToUpperInvariant()));
        }
    }

    [Fact]
    public async Task Third_connection_for_a_paired_hash_is_refused_with_rep_02()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);
        using Socket requester = await harness.ConnectLegAsync(hash);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(() => harness.ConnectLegAsync(hash));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("0x02", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Metrics.GetRefusals(ProxyRefusalReason.StreamAlreadyPaired));
        Assert.Equal(ActivationResult.Activated, harness.Proxy.TryActivate(hash));
    }

    [Fact]
    public async Task Third_connection_for_an_active_stream_is_refused_with_rep_02()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, string hash) = await harness.ActivatedPairAsync();
        using (target)
        using (requester)
        {
            BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(() => harness.ConnectLegAsync(hash));
            Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        }
    }

    [Fact]
    public async Task Bytes_sent_before_activation_are_not_delivered()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);
        using Socket requester = await harness.ConnectLegAsync(hash);
        await SendAsync(requester, Encoding.ASCII.GetBytes("early-from-requester"));
        await SendAsync(target, Encoding.ASCII.GetBytes("early-from-target"));
        // The proxy notices each leg's early bytes (event 4012) without reading them.
        await harness.Log.WaitForAsync(4012, count: 2).WaitAsync(TestTimeout, Ct);

        Assert.Equal(ActivationResult.Activated, harness.Proxy.TryActivate(hash));
        await SendAsync(requester, Encoding.ASCII.GetBytes("late"));
        requester.Shutdown(SocketShutdown.Send);
        await SendAsync(target, Encoding.ASCII.GetBytes("reply"));
        target.Shutdown(SocketShutdown.Send);

        (byte[] atTarget, _) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);
        (byte[] atRequester, _) = await ReadToEndAsync(requester).WaitAsync(TestTimeout, Ct);
        Assert.Equal("late", Encoding.ASCII.GetString(atTarget));
        Assert.Equal("reply", Encoding.ASCII.GetString(atRequester));
        Assert.Equal("early-from-requester".Length + "early-from-target".Length, harness.Metrics.BytesDiscarded);
    }

    [Fact]
    public async Task First_leg_leaving_before_its_partner_arrives_frees_the_hash()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        string hash = NewHash();
        Socket target = await harness.ConnectLegAsync(hash);
        target.Dispose();
        await harness.Log.WaitForAsync(4008).WaitAsync(TestTimeout, Ct);

        Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.PeerLeftBeforeActivation));
        Assert.Equal(ActivationResult.NotFound, harness.Proxy.TryActivate(hash));
        using Socket again = await harness.ConnectLegAsync(hash);
        Assert.Equal(ActivationResult.OneLegOnly, harness.Proxy.TryActivate(hash));
    }

    [Fact]
    public async Task A_pair_never_activated_ends_with_a_reset_so_its_target_cannot_take_it_for_the_senders_close()
    {
        // The requester leaves after its activation failed: the target, reading an empty file, must not see the end of
        // stream that an activated pair passes on as the sender's close.
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        string hash = NewHash();
        using Socket target = await harness.ConnectLegAsync(hash);
        Socket requester = await harness.ConnectLegAsync(hash);
        requester.Dispose();

        (byte[] data, bool reset) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);

        Assert.True(reset);
        Assert.Empty(data);
        Assert.Equal(1, harness.Metrics.GetClosures(ProxyCloseReason.PeerLeftBeforeActivation));
    }

    [Fact]
    public async Task An_activated_pair_passes_the_senders_close_on_as_an_end_of_stream_not_a_reset()
    {
        await using ProxyHarness harness = await ProxyHarness.StartAsync();
        (Socket target, Socket requester, _) = await harness.ActivatedPairAsync();
        using (target)
        {
            requester.Dispose();

            (byte[] data, bool reset) = await ReadToEndAsync(target).WaitAsync(TestTimeout, Ct);

            Assert.False(reset);
            Assert.Empty(data);
        }
    }
}
