using System.Net;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Tests;

/// <summary>One embedded server on loopback (ephemeral ports) with alice and bob, shared by the CLI tests.</summary>
public sealed class CliServerFixture : IAsyncLifetime
{
    public const string AlicePassword = "alice-cli-password";
    public const string BobPassword = "bob-cli-password";
    private readonly string _root = Directory.CreateTempSubdirectory("xft-cli-").FullName;

    public EmbeddedXmppServer Server { get; private set; } = null!;

    public string Root => _root;

    public async ValueTask InitializeAsync()
    {
        Server = await EmbeddedXmppServer.StartAsync(ServerOptions.Default with
        {
            Domain = "cli.test",
            DataDirectory = Path.Combine(_root, "server"),
            ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        });
        await Server.AddUserAsync("alice", AlicePassword);
        await Server.AddUserAsync("bob", BobPassword);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>The shared connection options for <paramref name="user"/> (with a resource so tests can address a full JID).</summary>
    public string[] Connection(string user, string resource) =>
    [
        "--jid", $"{user}@cli.test/{resource}",
        "--server", $"127.0.0.1:{Server.ClientEndPoint.Port}",
        "--trust-cert-sha256", Server.CertificateSha256,
    ];

    public static Dictionary<string, string> Password(string password) => new() { ["XFT_PASSWORD"] = password };
}
