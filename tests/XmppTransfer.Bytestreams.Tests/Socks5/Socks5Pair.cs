using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>Alice and bob on one loopback router, each with a SOCKS5 bytestream manager of the given options.</summary>
internal sealed class Socks5Pair : IAsyncDisposable
{
    private Socks5Pair(LoopbackRouter router, XmppClient alice, XmppClient bob, Socks5BytestreamManager aliceS5b, Socks5BytestreamManager bobS5b)
    {
        Router = router;
        Alice = alice;
        Bob = bob;
        AliceS5b = aliceS5b;
        BobS5b = bobS5b;
    }

    /// <summary>
    /// Loopback options whose every wait (negotiation, proxy connect) is far beyond a test's cap: only a prompt end passes,
    /// so a test shows that something ended a wait at once rather than by its timeout.
    /// </summary>
    public static Socks5BytestreamOptions Slow { get; } = new()
    {
        LoopbackOnly = true,
        Hosts = ["127.0.0.1"],
        DiscoverProxies = false,
        NegotiationTimeout = TimeSpan.FromMinutes(10),
        ProxyConnectTimeout = TimeSpan.FromMinutes(10),
    };

    public LoopbackRouter Router { get; }

    public XmppClient Alice { get; }

    public XmppClient Bob { get; }

    public Socks5BytestreamManager AliceS5b { get; }

    public Socks5BytestreamManager BobS5b { get; }

    public static async Task<Socks5Pair> StartAsync(Socks5BytestreamOptions options)
    {
        var router = new LoopbackRouter();
        var aliceS5b = new Socks5BytestreamManager(options);
        var bobS5b = new Socks5BytestreamManager(options);
        var alice = await router.ConnectAsync("alice", c => c.AddExtension(aliceS5b));
        var bob = await router.ConnectAsync("bob", c => c.AddExtension(bobS5b));
        return new Socks5Pair(router, alice, bob, aliceS5b, bobS5b);
    }

    public async ValueTask DisposeAsync()
    {
        await Alice.DisposeAsync();
        await Bob.DisposeAsync();
        await Router.DisposeAsync();
    }
}
