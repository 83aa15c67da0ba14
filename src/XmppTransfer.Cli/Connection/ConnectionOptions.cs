using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XmppTransfer.Core;

namespace XmppTransfer.Cli.Connection;

/// <summary>The options every command that logs in shares, and how they become <see cref="XmppClientOptions"/>.</summary>
internal sealed class ConnectionOptions
{
    public Option<string?> Jid { get; } = new("--jid") { Description = "Your account, e.g. alice@example.org (a /resource is optional)." };

    public Option<string?> Server { get; } = new("--server")
    {
        Description = "Connect to HOST:PORT instead of looking up the domain's SRV records (e.g. 127.0.0.1:5222).",
        HelpName = "HOST:PORT",
    };

    public Option<string> Tls { get; } = new("--tls")
    {
        Description = "required (STARTTLS, the default), direct (TLS from the first byte, XEP-0368) or off (only on a trusted network).",
        DefaultValueFactory = _ => "required",
    };

    public Option<string?> TrustCertSha256 { get; } = new("--trust-cert-sha256")
    {
        Description = "Trust exactly the server certificate with this SHA-256 fingerprint (hex): for self-signed servers.",
        HelpName = "HEX",
    };

    public Option<string?> CaFile { get; } = new("--ca-file") { Description = "Trust the CA certificates in this PEM file instead of the system's.", HelpName = "FILE" };

    public Option<string?> PasswordFile { get; } = new("--password-file")
    {
        Description = "Read the password from this file. Otherwise it comes from the XFT_PASSWORD environment variable.",
        HelpName = "FILE",
    };

    public Option<string?> Profile { get; } = new("--profile")
    {
        Description = "Use the named account from ~/.config/xft/profiles.json (or $XFT_PROFILES); options given here win.",
        HelpName = "NAME",
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Log protocol details (Debug, whatever XFT_Logging__LogLevel__* says) and show stack traces." };

    public Option<bool> Json { get; } = new("--json") { Description = "Write machine-readable JSON lines to standard output." };

    public void AddTo(Command command)
    {
        command.Options.Add(Jid);
        command.Options.Add(Server);
        command.Options.Add(Tls);
        command.Options.Add(TrustCertSha256);
        command.Options.Add(CaFile);
        command.Options.Add(PasswordFile);
        command.Options.Add(Profile);
        command.Options.Add(Json);
        command.Options.Add(Verbose);
    }

    public XmppClientOptions Build(ParseResult parse, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory)
    {
        var profile = parse.GetValue(Profile) is { } name ? AccountProfile.Load(name) : new AccountProfile();
        var jidText = parse.GetValue(Jid) ?? profile.Jid
            ?? throw new UsageException("--jid ACCOUNT is required (e.g. --jid alice@example.org), or --profile NAME.");
        if (!Core.Jid.TryParse(jidText, out var jid) || jid.Local is null)
        {
            throw new UsageException($"--jid '{jidText}' is not an account address like alice@example.org.");
        }

        var tlsText = parse.GetResult(Tls) is { Implicit: false } ? parse.GetValue(Tls) : profile.Tls ?? parse.GetValue(Tls);
        var tls = tlsText switch
        {
            "required" => TlsMode.Required,
            "direct" => TlsMode.Direct,
            "off" => TlsMode.Off,
            var other => throw new UsageException($"--tls must be required, direct or off, not '{other}'."),
        };

        string? host = null;
        int? port = null;
        if ((parse.GetValue(Server) ?? profile.Server) is { } server)
        {
            (host, port) = ParseHostPort(server, "--server");
        }

        return new XmppClientOptions
        {
            Jid = jid,
            Password = PasswordSource.Read(parse.GetValue(PasswordFile) ?? profile.PasswordFile),
            Host = host,
            Port = port,
            Tls = tls,
            TrustedCertificateSha256 = parse.GetValue(TrustCertSha256) is { } pin
                ? CheckPin(pin, "--trust-cert-sha256")
                : CheckPin(profile.TrustCertSha256, $"trustCertSha256 of profile {parse.GetValue(Profile)}"),
            CaCertificateFile = parse.GetValue(CaFile) is { } caFile
                ? CheckCaFile(caFile, "--ca-file")
                : CheckCaFile(profile.CaFile, $"caFile of profile {parse.GetValue(Profile)}"),
            LoggerFactory = loggerFactory,
        };
    }

    /// <summary>
    /// A certificate pin must be a SHA-256 fingerprint, 64 hex digits (colons allowed, as browsers and openssl print it):
    /// checked here, naming where it came from, before the library is handed it.
    /// </summary>
    private static string? CheckPin(string? pin, string source)
    {
        if (string.IsNullOrWhiteSpace(pin))
        {
            return null;
        }

        var hex = pin.Replace(":", string.Empty, StringComparison.Ordinal).Trim();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit)
            ? pin
            : throw new UsageException($"{source} must be the server certificate's SHA-256 fingerprint: 64 hex digits, colons allowed.");
    }

    /// <summary>
    /// The CA file must hold at least one PEM certificate: read here, naming where the path came from, so that a wrong
    /// file is a usage error now rather than a cryptography exception (or a certificate refused for no clear reason)
    /// during the TLS handshake.
    /// </summary>
    private static string? CheckCaFile(string? path, string source)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return null;
        }

        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"Cannot read {source} {path}: {ex.Message}");
        }
        catch (CryptographicException ex)
        {
            throw new UsageException($"{source} {path} is not a PEM file of CA certificates: {ex.Message}");
        }

        return certificates.Count > 0
            ? path
            : throw new UsageException($"{source} {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
    }

    public static (string Host, int Port) ParseHostPort(string value, string option)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UsageException($"{option} must be HOST:PORT, e.g. 127.0.0.1:5222 (got '{value}').");
        }

        var host = value[..colon].Trim('[', ']');
        return (host, port);
    }
}
