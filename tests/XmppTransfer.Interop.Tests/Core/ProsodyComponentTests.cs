using XmppTransfer.Core;
using XmppTransfer.Core.Component;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Interop.Tests.Core;

/// <summary>The XEP-0114 component protocol against Prosody's component port.</summary>
public sealed class ProsodyComponentTests : IAsyncLifetime
{
    private const string Secret = "component-test-secret";
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private ProsodyServer? _server;

    public async ValueTask InitializeAsync()
    {
        if (InteropGate.Enabled)
        {
            _server = await ProsodyServer.StartAsync(
                ProsodyServerOptions.Default with { Proxy65 = false, Components = [new ProsodyComponent("files.example.test", Secret)] },
                TestContext.Current.CancellationToken);
            await _server.RegisterAsync("alice", "alice-password", TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_component_with_the_right_secret_attaches_and_answers_disco_from_users()
    {
        InteropGate.SkipUnlessEnabled();
        await using var component = new XmppComponent(ComponentOptions(Secret));
        component.Disco.AddIdentity(new XmppTransfer.Core.Disco.DiscoIdentity("store", "file", "Test files"));
        await component.ConnectAsync().WaitAsync(s_cap);

        await using var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Parse("alice@example.test"),
            Password = "alice-password",
            Host = _server!.Host,
            Port = _server.C2sPort,
            TrustedCertificateSha256 = _server.CertificateSha256,
        });
        await client.ConnectAsync().WaitAsync(s_cap);
        var info = await client.Disco.GetInfoAsync(Jid.Parse("files.example.test")).WaitAsync(s_cap);
        Assert.True(info.HasIdentity("store", "file"));

        // And the other way: the component asks the user (from is stamped with the component's JID).
        var ping = Stanza.MakeIq(IqType.Get, client.BoundJid, new System.Xml.Linq.XElement(System.Xml.Linq.XName.Get("query", Namespaces.DiscoInfo)));
        var answer = await component.SendIqAsync(ping).WaitAsync(s_cap);
        Assert.Equal("result", (string?)answer.Attribute("type"));
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_with_a_clear_authentication_error()
    {
        InteropGate.SkipUnlessEnabled();
        await using var component = new XmppComponent(ComponentOptions("wrong-secret"));
        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => component.ConnectAsync().WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.DoesNotContain("wrong-secret", ex.Message, StringComparison.Ordinal);
    }

    private XmppComponentOptions ComponentOptions(string secret) => new()
    {
        Jid = Jid.Parse("files.example.test"),
        Secret = secret,
        Host = _server!.Host,
        Port = _server.ComponentPort!.Value,
    };
}
