using XmppTransfer.Testing.Prosody;
using XmppTransfer.Testing.Slixmpp;

namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>One TLS Prosody with mod_proxy65 and the accounts alice, bob and carol, shared by the collection.</summary>
/// <remarks>Starts nothing when interop tests are disabled; the tests then skip themselves.</remarks>
public sealed class ProsodyFixture : IAsyncLifetime
{
    /// <summary>The password of every account (test-only).</summary>
    public const string Password = "interop-test-password";

    public const string Alice = "alice";
    public const string Bob = "bob";
    public const string Carol = "carol";

    private ProsodyServer? _server;

    /// <summary>The running server.</summary>
    public ProsodyServer Server => _server ?? throw new InvalidOperationException($"Prosody is not running; is {InteropGate.Variable}=1 set?");

    /// <summary>Login options for a slixmpp peer on <see cref="Server"/> that verifies the server certificate.</summary>
    public SlixmppPeerOptions PeerOptions(string user) => SlixmppPeerOptions.For(Server, user, Password);

    public async ValueTask InitializeAsync()
    {
        if (!InteropGate.Enabled)
        {
            return;
        }

        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        _server = await ProsodyServer.StartAsync(ProsodyServerOptions.Default, cancellationToken);
        foreach (string user in new[] { Alice, Bob, Carol })
        {
            await _server.RegisterAsync(user, Password, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
