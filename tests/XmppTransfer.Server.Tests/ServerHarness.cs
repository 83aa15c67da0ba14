using System.Net;
using System.Net.Sockets;
using System.Text;
using XmppTransfer.Core;

namespace XmppTransfer.Server.Tests;

/// <summary>An embedded server on ephemeral loopback ports with three accounts, and clients that pin its certificate.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    public const string Domain = "example.test";
    public const string Password = "correct horse battery staple";
    public static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    private readonly List<XmppClient> _clients = [];

    private ServerHarness(EmbeddedXmppServer server) => Server = server;

    public EmbeddedXmppServer Server { get; }

    public static ServerOptions BaseOptions => new()
    {
        Domain = Domain,
        ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        ComponentEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        ComponentSecrets = new Dictionary<string, string> { ["comp.example.test"] = "component-secret" },
        ScramIterations = 1024,
    };

    public static async Task<ServerHarness> StartAsync(ServerOptions? options = null)
    {
        var server = await EmbeddedXmppServer.StartAsync(options ?? BaseOptions).WaitAsync(Cap);
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await server.AddUserAsync(user, Password).WaitAsync(Cap);
        }

        return new ServerHarness(server);
    }

    public XmppClientOptions ClientOptions(string user, string? resource = null, string password = Password) => new()
    {
        Jid = Jid.Create(user, Domain, resource),
        Password = password,
        Host = "127.0.0.1",
        Port = Server.ClientEndPoint.Port,
        TrustedCertificateSha256 = Server.CertificateSha256,
        NegotiationTimeout = TimeSpan.FromSeconds(20),
        IqTimeout = TimeSpan.FromSeconds(20),
    };

    public async Task<XmppClient> ConnectAsync(string user, string? resource = null, Action<XmppClient>? configure = null, XmppClientOptions? options = null)
    {
        var client = new XmppClient(options ?? ClientOptions(user, resource));
        configure?.Invoke(client);
        lock (_clients)
        {
            _clients.Add(client);
        }

        await client.ConnectAsync().WaitAsync(Cap);
        return client;
    }

    /// <summary>Waits until <paramref name="observer"/> has seen available presence from <paramref name="full"/>.</summary>
    public static async Task<Core.Roster.AvailableResource> WaitForPresenceAsync(XmppClient observer, Jid full)
    {
        var seen = new TaskCompletionSource<Core.Roster.AvailableResource>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnAvailable(Core.Roster.AvailableResource r)
        {
            if (r.Jid == full)
            {
                seen.TrySetResult(r);
            }
        }

        observer.Presence.Available += OnAvailable;
        try
        {
            var already = observer.Presence.All.FirstOrDefault(r => r.Jid == full);
            return already ?? await seen.Task.WaitAsync(Cap);
        }
        finally
        {
            observer.Presence.Available -= OnAvailable;
        }
    }

    /// <summary>Opens a raw TCP connection to the c2s port.</summary>
    public async Task<Socket> RawConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(Server.ClientEndPoint).WaitAsync(Cap);
        return socket;
    }

    /// <summary>Reads until the server closes the connection (or <paramref name="timeout"/>), returning the text.</summary>
    public static async Task<string> ReadToEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                return text.ToString();
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    public static string Header(string to = Domain) =>
        $"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{to}' version='1.0'>";

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await Server.DisposeAsync().AsTask().WaitAsync(Cap);
    }
}
