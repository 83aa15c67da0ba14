using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Testing.Slixmpp;

/// <summary>How a <see cref="SlixmppPeer"/> logs in.</summary>
public sealed record SlixmppPeerOptions
{
    /// <summary>Server address. Default 127.0.0.1.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Server c2s port.</summary>
    public required int Port { get; init; }

    /// <summary>Account JID, bare (the server picks a resource) or full.</summary>
    public required string Jid { get; init; }

    /// <summary>Account password; handed to Python through an environment variable, never argv.</summary>
    public required string Password { get; init; }

    /// <summary>STARTTLS (required when true). Default true.</summary>
    public bool Tls { get; init; } = true;

    /// <summary>PEM file the server certificate must chain to; null accepts any certificate.</summary>
    public string? CaFile { get; init; }

    /// <summary>Timeout of each IQ the peer sends. Default 60 s.</summary>
    public TimeSpan IqTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the peer may take to log in before it reports an error and exits. Default 30 s.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest IBB block-size a receiver accepts; null keeps slixmpp's default (8192).</summary>
    public int? MaxIbbBlockSize { get; init; }

    /// <summary>slixmpp debug logging to stderr.</summary>
    public bool Verbose { get; init; }

    /// <summary>How long dispose waits for a clean exit (after closing stdin, then after SIGTERM). Default 5 s.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The Python with slixmpp 1.8.3. Default <c>/usr/bin/python3</c> (Debian's python3-slixmpp).</summary>
    public string PythonPath { get; init; } = "/usr/bin/python3";

    /// <summary>The peer script. Default <c>Peers/slixmpp_peer.py</c> beside the test assembly.</summary>
    public string ScriptPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "Peers", "slixmpp_peer.py");

    /// <summary>Options for <paramref name="user"/> on <paramref name="server"/>, verifying its certificate when it has TLS.</summary>
    public static SlixmppPeerOptions For(ProsodyServer server, string user, string password)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentException.ThrowIfNullOrEmpty(user);
        return new SlixmppPeerOptions
        {
            Host = server.Host,
            Port = server.C2sPort,
            Jid = $"{user}@{server.Domain}",
            Password = password,
            Tls = server.Options.Tls,
            CaFile = server.CertificatePath,
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"SlixmppPeerOptions {{ Jid = {Jid}, Host = {Host}, Port = {Port}, Tls = {Tls} }}";

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Host, nameof(Host));
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 1, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535, nameof(Port));
        ArgumentException.ThrowIfNullOrEmpty(Jid, nameof(Jid));
        ArgumentException.ThrowIfNullOrEmpty(Password, nameof(Password));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IqTimeout, TimeSpan.Zero, nameof(IqTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LoginTimeout, TimeSpan.Zero, nameof(LoginTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StopTimeout, TimeSpan.Zero, nameof(StopTimeout));
        if (MaxIbbBlockSize is int max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(MaxIbbBlockSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(max, 65535, nameof(MaxIbbBlockSize));
        }

        if (!File.Exists(ScriptPath))
        {
            throw new FileNotFoundException("The slixmpp peer script is missing.", ScriptPath);
        }
    }
}
