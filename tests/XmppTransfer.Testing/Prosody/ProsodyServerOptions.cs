namespace XmppTransfer.Testing.Prosody;

/// <summary>How <see cref="ProsodyServer"/> configures the Prosody 0.12 it starts.</summary>
public sealed record ProsodyServerOptions
{
    /// <summary>The defaults: TLS, Nagle off, 256 KiB stanzas, mod_proxy65, no components.</summary>
    public static ProsodyServerOptions Default { get; } = new();

    /// <summary>The one VirtualHost. Default <c>example.test</c>.</summary>
    public string Domain { get; init; } = "example.test";

    /// <summary>STARTTLS with a fresh self-signed certificate for the domain and <c>*.domain</c>. Default true.</summary>
    public bool Tls { get; init; } = true;

    /// <summary><c>c2s_require_encryption</c>; has no effect (false) when <see cref="Tls"/> is off. Default true.</summary>
    public bool RequireEncryption { get; init; } = true;

    /// <summary><c>network_settings = { nagle = false }</c> (TCP_NODELAY on Prosody's sockets). Default true.</summary>
    /// <remarks>Prosody 0.12's <c>net/server.lua</c> passes <c>network_settings</c> to server_epoll, whose
    /// <c>defaultoptions()</c> sets <c>tcp-nodelay</c> on accepted and outgoing sockets when <c>nagle</c> is false.</remarks>
    public bool NagleOff { get; init; } = true;

    /// <summary>The SCRAM hash Prosody stores passwords with ("SHA-1" or "SHA-256"). Default SHA-256.</summary>
    public string PasswordHash { get; init; } = "SHA-256";

    /// <summary><c>c2s_stanza_size_limit</c> in bytes. Default 256 KiB (Prosody's own default).</summary>
    public int StanzaSizeLimit { get; init; } = 256 * 1024;

    /// <summary>Adds <c>Component "proxy.domain" "proxy65"</c> on 127.0.0.1 and an ephemeral port. Default true.</summary>
    public bool Proxy65 { get; init; } = true;

    /// <summary>External components (XEP-0114) on the component port.</summary>
    public IReadOnlyList<ProsodyComponent> Components { get; init; } = [];

    /// <summary>
    /// A fixed component port (e.g. the one of a server being restarted, so components can reconnect); null picks a
    /// free ephemeral port. Default null.
    /// </summary>
    public int? ComponentPort { get; init; }

    /// <summary>Modules loaded besides disco, roster, saslauth, ping, posix (and tls).</summary>
    public IReadOnlyList<string> ExtraModules { get; init; } = [];

    /// <summary>Prosody's log level (debug, info, warn, error). Default info.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>How long the start may take until every port accepts TCP. Default 20 s.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long dispose waits after SIGTERM before it kills. Default 10 s.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one openssl or prosodyctl run. Default 30 s.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The Prosody executable. Default <c>prosody</c> (from PATH).</summary>
    public string ProsodyPath { get; init; } = "prosody";

    /// <summary>The prosodyctl executable. Default <c>prosodyctl</c> (from PATH).</summary>
    public string ProsodyctlPath { get; init; } = "prosodyctl";

    /// <summary>The openssl executable. Default <c>openssl</c> (from PATH).</summary>
    public string OpensslPath { get; init; } = "openssl";

    /// <summary>Whether c2s requires TLS, after taking <see cref="Tls"/> into account.</summary>
    public bool EffectiveRequireEncryption => Tls && RequireEncryption;

    internal void Validate()
    {
        if (!ProsodyConfig.IsPlainDomain(Domain))
        {
            throw new ArgumentException($"Domain '{Domain}' must be lowercase letters, digits, '-' and '.'.", nameof(Domain));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(StanzaSizeLimit, 10_000, nameof(StanzaSizeLimit));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StopTimeout, TimeSpan.Zero, nameof(StopTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ToolTimeout, TimeSpan.Zero, nameof(ToolTimeout));
        foreach (ProsodyComponent component in Components)
        {
            if (!ProsodyConfig.IsPlainDomain(component.Name))
            {
                throw new ArgumentException($"Component name '{component.Name}' is not a plain domain.", nameof(Components));
            }

            ArgumentException.ThrowIfNullOrEmpty(component.Secret, nameof(Components));
        }

        foreach (string module in ExtraModules)
        {
            if (string.IsNullOrEmpty(module) || !module.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                throw new ArgumentException($"Module name '{module}' is not valid.", nameof(ExtraModules));
            }
        }

        if (LogLevel is not ("debug" or "info" or "warn" or "error"))
        {
            throw new ArgumentException("LogLevel must be debug, info, warn or error.", nameof(LogLevel));
        }
    }
}
