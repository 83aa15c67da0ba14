using System.Globalization;
using System.Text;

namespace XmppTransfer.Testing.Prosody;

/// <summary>Renders the Prosody 0.12 configuration file of a test server (never Debian's default config:
/// it loads mod_limits, which throttles c2s to about 10 kB/s).</summary>
internal static class ProsodyConfig
{
    /// <summary>Where the server's files live: everything under one temp folder.</summary>
    internal sealed record Layout(string Root)
    {
        public string ConfigPath => Path.Combine(Root, "prosody.cfg.lua");

        public string DataPath => Path.Combine(Root, "data");

        public string CertificateDirectory => Path.Combine(Root, "certs");

        public string CertificatePath => Path.Combine(CertificateDirectory, "cert.pem");

        public string KeyPath => Path.Combine(CertificateDirectory, "key.pem");

        public string PidPath => Path.Combine(Root, "prosody.pid");

        public string LogPath => Path.Combine(Root, "prosody.log");
    }

    internal sealed record Ports(int C2s, int Component, int Proxy65);

    public static bool IsPlainDomain(string? domain) =>
        !string.IsNullOrEmpty(domain)
        && domain.Length <= 200
        && domain[0] != '.' && domain[^1] != '.' && domain[0] != '-'
        && domain.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.');

    public static string Render(ProsodyServerOptions options, Layout layout, Ports ports, bool runAsRoot)
    {
        var modules = new List<string> { "disco", "roster", "saslauth", "ping", "posix" };
        if (options.Tls)
        {
            modules.Add("tls");
        }

        modules.AddRange(options.ExtraModules.Where(m => !modules.Contains(m)));

        var lua = new StringBuilder();
        Line(lua, "-- Written by XmppTransfer.Testing.ProsodyServer for one test run; deleted on dispose.");
        if (runAsRoot)
        {
            // As root, prosody (mod_posix) refuses to start and prosodyctl switches to the 'prosody' user,
            // which cannot read this private temp folder; a loopback test server may stay root.
            Line(lua, "run_as_root = true");
        }

        Line(lua, $"pidfile = {Str(layout.PidPath)}");
        Line(lua, $"data_path = {Str(layout.DataPath)}");
        Line(lua, $"certificates = {Str(layout.CertificateDirectory)}");
        // Logged to the console, which the fixture captures into prosody.log with stdout and stderr.
        Line(lua, $"log = {{ {{ levels = {{ min = {Str(options.LogLevel)} }}, to = \"console\" }} }}");
        Line(lua, "interfaces = { \"127.0.0.1\" }");
        Line(lua, "local_interfaces = { \"127.0.0.1\" }");
        Line(lua, $"c2s_ports = {{ {Num(ports.C2s)} }}");
        Line(lua, "c2s_direct_tls_ports = {}");
        Line(lua, "legacy_ssl_ports = {}");
        Line(lua, "s2s_ports = {}");
        Line(lua, "s2s_direct_tls_ports = {}");
        if (options.Components.Count > 0)
        {
            // Component ports are global and must come before the first VirtualHost. Prosody listens on them
            // only when at least one external component is configured (that is what loads mod_component).
            Line(lua, $"component_ports = {{ {Num(ports.Component)} }}");
            Line(lua, "component_interfaces = { \"127.0.0.1\" }");
        }
        if (options.Proxy65)
        {
            Line(lua, $"proxy65_ports = {{ {Num(ports.Proxy65)} }}");
            Line(lua, "proxy65_interfaces = { \"127.0.0.1\" }");
        }

        Line(lua, $"modules_enabled = {{ {string.Join(", ", modules.Select(Str))} }}");
        Line(lua, "authentication = \"internal_hashed\"");
        // SCRAM-SHA-256 (and -PLUS) rather than Prosody's SHA-1 default: the stronger mechanism is what we test.
        Line(lua, $"password_hash = {Str(options.PasswordHash)}");
        Line(lua, $"c2s_require_encryption = {Bool(options.EffectiveRequireEncryption)}");
        Line(lua, "s2s_require_encryption = false");
        // Test passwords only: lets clients use PLAIN when TLS is not required.
        Line(lua, $"allow_unencrypted_plain_auth = {Bool(!options.EffectiveRequireEncryption)}");
        Line(lua, $"c2s_stanza_size_limit = {Num(options.StanzaSizeLimit)}");
        if (options.NagleOff)
        {
            Line(lua, "network_settings = { nagle = false }");
        }

        if (options.Tls)
        {
            Line(lua, $"ssl = {{ key = {Str(layout.KeyPath)}, certificate = {Str(layout.CertificatePath)} }}");
        }

        Line(lua, string.Empty);
        Line(lua, $"VirtualHost {Str(options.Domain)}");
        if (options.Proxy65)
        {
            Line(lua, string.Empty);
            Line(lua, $"Component {Str("proxy." + options.Domain)} \"proxy65\"");
            Line(lua, "    proxy65_address = \"127.0.0.1\"");
        }

        foreach (ProsodyComponent component in options.Components)
        {
            Line(lua, string.Empty);
            Line(lua, $"Component {Str(component.Name)}");
            Line(lua, $"    component_secret = {Str(component.Secret)}");
        }

        return lua.ToString();
    }

    private static void Line(StringBuilder lua, string line) => lua.Append(line).Append('\n');

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A Lua string literal.</summary>
    private static string Str(string value)
    {
        var literal = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => literal.Append(@"\\"),
                '"' => literal.Append("\\\""),
                '\n' => literal.Append(@"\n"),
                '\r' => literal.Append(@"\r"),
                < ' ' => literal.Append(CultureInfo.InvariantCulture, $"\\{(int)c:000}"),
                _ => literal.Append(c),
            };
        }

        return literal.Append('"').ToString();
    }
}
