using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace XmppTransfer.Server;

/// <summary>
/// Settings of an <see cref="EmbeddedXmppServer"/>. Every timeout and limit has a documented default (also in
/// docs/timeouts.md); port 0 anywhere picks an ephemeral port, read back from the server's properties.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>The defaults: domain <c>localhost</c>, loopback only, STARTTLS required, proxy on 7777.</summary>
    public static ServerOptions Default { get; } = new();

    /// <summary>The one domain served (Openfire <c>xmpp.domain</c>). Default <c>localhost</c>.</summary>
    public string Domain { get; init; } = "localhost";

    /// <summary>Where the accounts file and the generated certificate live. Default null: accounts in memory, a throw-away certificate.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>The client-to-server listener (STARTTLS). Default 127.0.0.1:5222.</summary>
    public IPEndPoint ClientEndpoint { get; init; } = new(IPAddress.Loopback, 5222);

    /// <summary>An optional direct-TLS listener (XEP-0368, ALPN <c>xmpp-client</c>). Default null (off).</summary>
    public IPEndPoint? DirectTlsEndpoint { get; init; }

    /// <summary>The external component listener (XEP-0114). Default null: off unless <see cref="ComponentSecrets"/> is set.</summary>
    public IPEndPoint? ComponentEndpoint { get; init; }

    /// <summary>Component name (e.g. <c>proxy2.example.org</c>) to shared secret. Default empty.</summary>
    public IReadOnlyDictionary<string, string> ComponentSecrets { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>A PFX/PKCS#12 or PEM certificate file; null generates a self-signed one in <see cref="DataDirectory"/>.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The PEM private key file when <see cref="CertificatePath"/> is a PEM certificate without its key.</summary>
    public string? CertificateKeyPath { get; init; }

    /// <summary>The PFX password, if any. Read it from the environment or a file, never from argv.</summary>
    public string? CertificatePassword { get; init; }

    /// <summary>Refuse SASL and stanzas before STARTTLS. Default true.</summary>
    public bool RequireTls { get; init; } = true;

    /// <summary>Offer SASL PLAIN (always only over TLS). Default true: some clients know nothing else.</summary>
    public bool AllowPlain { get; init; } = true;

    /// <summary>
    /// Offer SCRAM-*-PLUS with <c>tls-server-end-point</c> (advertised with XEP-0440). Default false: clients that ignore
    /// XEP-0440 pick -PLUS and bind with <c>tls-unique</c>, which TLS 1.3 does not define, and then fail to log in
    /// (slixmpp 1.8.3 does exactly that). Turn it on when every client knows XEP-0440 (ours does).
    /// </summary>
    public bool OfferChannelBinding { get; init; }

    /// <summary>In-band registration (XEP-0077). Not implemented: must stay false.</summary>
    public bool AllowRegistration { get; init; }

    /// <summary>PBKDF2 iterations of newly stored SCRAM credentials. Default 4096 (RFC 7677's minimum).</summary>
    public int ScramIterations { get; init; } = 4096;

    /// <summary>What a resource conflict does. Default <see cref="ResourceConflictPolicy.ReplaceExisting"/>.</summary>
    public ResourceConflictPolicy ResourceConflict { get; init; } = ResourceConflictPolicy.ReplaceExisting;

    /// <summary>SI, IBB and S5B negotiation between users (Openfire <c>xmpp.filetransfer.enabled</c>); false refuses them with not-allowed. Default true.</summary>
    public bool FileTransferEnabled { get; init; } = true;

    /// <summary>Run the built-in SOCKS5 proxy (Openfire <c>xmpp.proxy.enabled</c>). Default true.</summary>
    public bool ProxyEnabled { get; init; } = true;

    /// <summary>The proxy's subdomain label (Openfire <c>xmpp.proxy.service</c>): the JID is <c>&lt;service&gt;.&lt;domain&gt;</c>. Default <c>proxy</c>.</summary>
    public string ProxyService { get; init; } = "proxy";

    /// <summary>The proxy's SOCKS5 listener (port: Openfire <c>xmpp.proxy.port</c>). Default 127.0.0.1:7777.</summary>
    public IPEndPoint ProxyEndpoint { get; init; } = new(IPAddress.Loopback, 7777);

    /// <summary>The host or IP advertised to clients (Openfire <c>xmpp.proxy.externalip</c>). Default null: the listener's address.</summary>
    public string? ProxyExternalHost { get; init; }

    /// <summary>
    /// Active (relaying) streams one user may have at once through the built-in proxy; one more activation gets
    /// <c>resource-constraint</c> (wait). Default 16, as <c>xft proxy</c> (<see cref="Proxy.BytestreamProxyOptions.MaxActiveStreamsPerJid"/>).
    /// </summary>
    public int ProxyMaxActiveStreamsPerJid { get; init; } = Proxy.BytestreamProxyOptions.Default.MaxActiveStreamsPerJid;

    /// <summary>
    /// On stop, how long the built-in proxy lets its active streams finish before it closes them (after the clients'
    /// <see cref="ShutdownTimeout"/>); zero closes them at once. Default 30 s, as <c>xft proxy</c>
    /// (<see cref="Proxy.Socks5ProxyOptions.DrainTimeout"/>).
    /// </summary>
    public TimeSpan ProxyDrainTimeout { get; init; } = Proxy.Socks5ProxyOptions.Default.DrainTimeout;

    /// <summary>Largest stanza accepted, in bytes; a bigger one gets a <c>policy-violation</c> stream error. Default 256 KiB (64 KiB IBB blocks fit).</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// Approximate bytes of stanzas that may wait to be written to one session or component. When it is full, stanzas
    /// routed to it are bounced with <c>resource-constraint</c> (presence is dropped) rather than buffered. Default
    /// 2 MiB: several full default IBB windows (64 blocks of 4 KiB, about 350 KiB in base64) or eight maximum-size
    /// stanzas, while 64 connections from one address can hold at most 128 MiB.
    /// </summary>
    public int MaxOutgoingQueueBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>
    /// A session or component whose outgoing queue stays full this long with no write completing (it is not reading
    /// its socket) is closed with the stream error <c>policy-violation</c>. Default 30 s.
    /// </summary>
    public TimeSpan OutgoingQueueTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Open connections (all listeners together) per remote address; more are closed at once. Default 64.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    /// <summary>Open connections in total. Default 10,000.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>Sessions one account may have at once; one more gets <c>resource-constraint</c> at bind. Default 32.</summary>
    public int MaxResourcesPerAccount { get; init; } = 32;

    /// <summary>Each stream header must arrive within this time after connect, TLS or SASL. Default 10 s.</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>From TCP accept to a bound resource (or an accepted component). Default 60 s.</summary>
    public TimeSpan NegotiationTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A session silent this long is pinged (XEP-0199); silent for <see cref="PingTimeout"/> more, it is closed with <c>connection-timeout</c>. Default 5 min.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>See <see cref="IdleTimeout"/>. Default 60 s.</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Failed SASL attempts on one stream before it is closed with <c>policy-violation</c>. Default 3.</summary>
    public int MaxAuthAttemptsPerStream { get; init; } = 3;

    /// <summary>
    /// The first failure answer is delayed this much, doubling per recent failure of the address, of the account from it or of
    /// the account from anywhere (the largest count); a success is never delayed. Default 250 ms.
    /// </summary>
    public TimeSpan AuthFailureDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Cap of the failure delay. Default 4 s.</summary>
    public TimeSpan MaxAuthFailureDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Failures are counted over this window; lock-outs last until it passes. Default 5 min.</summary>
    public TimeSpan AuthFailureWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Failures for one account within the window that lock the account from the address they came from
    /// (<c>temporary-auth-failure</c>, the right password included); other addresses still log in. When the account has this
    /// many failures from all addresses together, every address with a failure for it in the window is locked out of it, and
    /// addresses without one still log in (docs/server.md, "Failed logins"). Default 10.
    /// </summary>
    public int AccountLockoutThreshold { get; init; } = 10;

    /// <summary>Failures from one address (an IPv4 address or an IPv6 /64) within the window, any accounts, that lock the address out of all of them. Default 100.</summary>
    public int AddressLockoutThreshold { get; init; } = 100;

    /// <summary>On stop, how long clients get to close after <c>system-shutdown</c> before their sockets are closed. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Logging. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Clock for idle detection and throttling. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The proxy's JID, <c>&lt;service&gt;.&lt;domain&gt;</c>.</summary>
    public string ProxyJid => ProxyService + "." + Domain;

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (!Core.Jid.TryParse(Domain, out var domain) || domain.Local is not null || domain.Resource is not null)
        {
            throw new ArgumentException($"'{Domain}' is not a valid domain.", nameof(Domain));
        }

        ArgumentNullException.ThrowIfNull(ClientEndpoint);
        ArgumentNullException.ThrowIfNull(ProxyEndpoint);
        ArgumentNullException.ThrowIfNull(ComponentSecrets);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (AllowRegistration)
        {
            throw new ArgumentException("In-band registration is not implemented; add accounts with AddUserAsync or 'xft server add-user'.", nameof(AllowRegistration));
        }

        if (string.IsNullOrWhiteSpace(ProxyService) || ProxyService.Contains('.', StringComparison.Ordinal) || !Core.Jid.TryParse(ProxyJid, out _))
        {
            throw new ArgumentException($"'{ProxyService}' is not a valid proxy service label.", nameof(ProxyService));
        }

        if (ProxyExternalHost is not null && string.IsNullOrWhiteSpace(ProxyExternalHost))
        {
            throw new ArgumentException("The proxy's external host must not be blank.", nameof(ProxyExternalHost));
        }

        RequirePositive(ProxyMaxActiveStreamsPerJid, nameof(ProxyMaxActiveStreamsPerJid));
        if (ProxyDrainTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ProxyDrainTimeout), ProxyDrainTimeout, "Must not be negative.");
        }

        if (MaxStanzaBytes < 16 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStanzaBytes), MaxStanzaBytes, "Must be at least 16 KiB.");
        }

        RequirePositive(ScramIterations, nameof(ScramIterations));
        RequirePositive(MaxConnectionsPerAddress, nameof(MaxConnectionsPerAddress));
        RequirePositive(MaxConnections, nameof(MaxConnections));
        RequirePositive(MaxResourcesPerAccount, nameof(MaxResourcesPerAccount));
        RequirePositive(MaxOutgoingQueueBytes, nameof(MaxOutgoingQueueBytes));
        RequirePositive(OutgoingQueueTimeout, nameof(OutgoingQueueTimeout));
        RequirePositive(MaxAuthAttemptsPerStream, nameof(MaxAuthAttemptsPerStream));
        RequirePositive(AccountLockoutThreshold, nameof(AccountLockoutThreshold));
        RequirePositive(AddressLockoutThreshold, nameof(AddressLockoutThreshold));
        RequirePositive(HeaderTimeout, nameof(HeaderTimeout));
        RequirePositive(NegotiationTimeout, nameof(NegotiationTimeout));
        RequirePositive(IdleTimeout, nameof(IdleTimeout));
        RequirePositive(PingTimeout, nameof(PingTimeout));
        RequirePositive(AuthFailureWindow, nameof(AuthFailureWindow));
        if (AuthFailureDelay < TimeSpan.Zero || MaxAuthFailureDelay < AuthFailureDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(AuthFailureDelay), AuthFailureDelay, "Must be non-negative and at most MaxAuthFailureDelay.");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "Must not be negative.");
        }

        foreach (var (name, secret) in ComponentSecrets)
        {
            if (!Core.Jid.TryParse(name, out var jid) || jid.Local is not null || jid.Resource is not null)
            {
                throw new ArgumentException($"Component name '{name}' is not a domain.", nameof(ComponentSecrets));
            }

            if (string.IsNullOrEmpty(secret))
            {
                throw new ArgumentException($"Component '{name}' has an empty secret.", nameof(ComponentSecrets));
            }
        }
    }

    private static void RequirePositive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Domain = ").Append(Domain).Append(", ClientEndpoint = ").Append(ClientEndpoint)
            .Append(", DataDirectory = ").Append(DataDirectory).Append(", ProxyEnabled = ").Append(ProxyEnabled)
            .Append(", FileTransferEnabled = ").Append(FileTransferEnabled).Append(", CertificatePassword = ***, ComponentSecrets = ***");
        return true;
    }
}
