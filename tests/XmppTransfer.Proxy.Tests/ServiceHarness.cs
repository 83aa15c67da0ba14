using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Proxy.Tests;

/// <summary>
/// The XMPP face attached to a plain client session on a <see cref="LoopbackRouter"/> (so it is shown to work on any
/// session, not only a component), a SOCKS5 proxy behind it, and alice (requester), bob (target) and mallory.
/// </summary>
internal sealed class ServiceHarness : IAsyncDisposable
{
    public static readonly XName Query = XName.Get("query", Namespaces.Bytestreams);

    private ServiceHarness(LoopbackRouter router, ProxyHarness proxy, BytestreamProxyExtension extension, XmppClient service,
        XmppClient alice, XmppClient bob, XmppClient mallory)
    {
        Router = router;
        Proxy = proxy;
        Extension = extension;
        Service = service;
        Alice = alice;
        Bob = bob;
        Mallory = mallory;
    }

    public LoopbackRouter Router { get; }

    public ProxyHarness Proxy { get; }

    public BytestreamProxyExtension Extension { get; }

    public XmppClient Service { get; }

    public XmppClient Alice { get; }

    public XmppClient Bob { get; }

    public XmppClient Mallory { get; }

    public Jid ServiceJid => Service.BoundJid;

    public static async Task<ServiceHarness> StartAsync(Func<BytestreamProxyOptions, BytestreamProxyOptions>? configure = null)
    {
        ProxyHarness proxy = await ProxyHarness.StartAsync();
        LoopbackRouter router = new();
        BytestreamProxyOptions options = BytestreamProxyOptions.Default with { LoggerFactory = proxy.Log };
        BytestreamProxyExtension extension = new(proxy.Proxy, configure is null ? options : configure(options));
        XmppClient service = await router.ConnectAsync("proxy", c => c.AddExtension(extension));
        XmppClient alice = await router.ConnectAsync("alice");
        XmppClient bob = await router.ConnectAsync("bob");
        XmppClient mallory = await router.ConnectAsync("mallory");
        return new ServiceHarness(router, proxy, extension, service, alice, bob, mallory);
    }

    /// <summary>Both legs connected for sid, requester and target as the peers compute it.</summary>
    public async Task<(Socket Target, Socket Requester)> ConnectPairAsync(string sid, XmppClient requester, XmppClient target)
    {
        string hash = Socks5Address.Compute(sid, requester.BoundJid.ToString(), target.BoundJid.ToString());
        Socket targetLeg = await Proxy.ConnectLegAsync(hash);
        Socket requesterLeg = await Proxy.ConnectLegAsync(hash);
        return (targetLeg, requesterLeg);
    }

    public static XElement ActivateQuery(string? sid, string? target)
    {
        XElement query = new(Query);
        if (sid is not null)
        {
            query.SetAttributeValue("sid", sid);
        }

        if (target is not null)
        {
            query.Add(new XElement(XName.Get("activate", Namespaces.Bytestreams), target));
        }

        return query;
    }

    public Task<XElement> ActivateAsync(XmppClient from, string? sid, string? target) =>
        from.SendIqAsync(Stanza.MakeIq(IqType.Set, ServiceJid, ActivateQuery(sid, target)), cancellationToken: ProxyHarness.Ct)
            .WaitAsync(ProxyHarness.TestTimeout, ProxyHarness.Ct);

    public Task<XElement> GetAsync(XmppClient from, XElement payload) =>
        from.SendIqAsync(Stanza.MakeIq(IqType.Get, ServiceJid, payload), cancellationToken: ProxyHarness.Ct)
            .WaitAsync(ProxyHarness.TestTimeout, ProxyHarness.Ct);

    public static async Task<StanzaError> ErrorOfAsync(Func<Task> request)
    {
        XmppStanzaErrorException ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(request);
        return ex.Error;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (XmppClient client in new[] { Mallory, Bob, Alice, Service })
        {
            await client.DisposeAsync().AsTask().WaitAsync(ProxyHarness.TestTimeout);
        }

        await Router.DisposeAsync();
        await Proxy.DisposeAsync();
    }
}
