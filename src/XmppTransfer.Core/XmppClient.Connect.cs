using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

using System.Xml.Linq;
using XmppTransfer.Core.Sasl;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;
using XmppTransfer.Core.Transport.Dns;

namespace XmppTransfer.Core;

public sealed partial class XmppClient
{
    private static readonly XName s_features = XName.Get("features", Namespaces.Streams);
    private static readonly XName s_startTls = XName.Get("starttls", Namespaces.Tls);
    private static readonly XName s_mechanisms = XName.Get("mechanisms", Namespaces.Sasl);
    private static readonly XName s_bind = XName.Get("bind", Namespaces.Bind);
    private static readonly XName s_session = XName.Get("session", Namespaces.Session);

    /// <summary>
    /// Connects: SRV lookup (or the configured host), TCP, STARTTLS or direct TLS, SASL, resource
    /// binding, legacy session if the server requires it, then the read/write loops and initial
    /// presence. Each TCP connect is bounded by <see cref="XmppClientOptions.ConnectTimeout"/>, the
    /// negotiation by <see cref="XmppClientOptions.NegotiationTimeout"/>.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (LocalJid is not null)
        {
            throw new InvalidOperationException("The client is already connected.");
        }

        var endpoints = await ResolveEndpointsAsync(cancellationToken).ConfigureAwait(false);
        XmppException? last = null;
        foreach (var endpoint in endpoints)
        {
            CoreLog.Connecting(Logger, endpoint.Host, endpoint.Port, endpoint.DirectTls);
            XmppTransport? transport = null;
            try
            {
                var addresses = await ResolveHostAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
                transport = await XmppTransport.ConnectAsync(addresses, endpoint.Port, Options.ConnectTimeout, Options.Limits, Options.MaxOutgoingQueueBytes, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (XmppConnectionException ex) when (ex.Kind is XmppErrorKind.Connection or XmppErrorKind.Timeout or XmppErrorKind.Dns)
            {
                CoreLog.EndpointFailed(Logger, endpoint.Host, endpoint.Port, ex.Message);
                last = ex;
                continue;
            }

            using var negotiation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            negotiation.CancelAfter(Options.NegotiationTimeout);
            try
            {
                var (jid, mechanism) = await NegotiateAsync(transport, endpoint.DirectTls, negotiation.Token).ConfigureAwait(false);
                LocalJid = jid;
                SaslMechanism = mechanism;
                IsTls = transport.IsTls;
                CoreLog.Bound(Logger, jid.ToString(), transport.IsTls, mechanism);
                StartSession(transport);
                transport = null;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new XmppConnectionException(
                    XmppErrorKind.Timeout,
                    $"Logging in to {endpoint.Host}:{endpoint.Port} took longer than {Options.NegotiationTimeout.TotalSeconds:0.#} s.");
            }
            finally
            {
                if (transport is not null)
                {
                    await transport.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (Options.SendInitialPresence)
            {
                await SendPresenceAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        throw last ?? new XmppConnectionException(XmppErrorKind.Dns, $"No server found for {Options.Jid.Domain}.");
    }

    private async Task<IReadOnlyList<XmppEndpoint>> ResolveEndpointsAsync(CancellationToken cancellationToken)
    {
        if (Options.Host is not null)
        {
            var direct = Options.Tls == TlsMode.Direct;
            return [new XmppEndpoint(Options.Host, Options.Port ?? (direct ? 5223 : 5222), direct)];
        }

        var resolver = new XmppEndpointResolver(new DnsClient(DnsClientOptions.FromResolvConf()));
        var found = await resolver.ResolveAsync(Options.Jid.Domain, cancellationToken).ConfigureAwait(false);
        var usable = found.Where(e => Options.Tls switch
        {
            TlsMode.Off => !e.DirectTls,
            TlsMode.Direct => e.DirectTls,
            _ => true,
        }).ToList();
        if (usable.Count == 0 && Options.Tls == TlsMode.Direct)
        {
            usable.Add(new XmppEndpoint(Options.Jid.Domain, 5223, true));
        }

        return usable.Count > 0
            ? usable
            : throw new XmppConnectionException(XmppErrorKind.Dns, $"The DNS of {Options.Jid.Domain} says it offers no XMPP client service.");
    }

    private static async Task<IReadOnlyList<IPAddress>> ResolveHostAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return [literal];
        }

        try
        {
            var addresses = await System.Net.Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            return addresses.Length > 0
                ? addresses
                : throw new XmppConnectionException(XmppErrorKind.Dns, $"{host} has no addresses.");
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new XmppConnectionException(XmppErrorKind.Dns, $"Could not resolve {host}: {ex.Message}", ex);
        }
    }

    private async Task<(Jid Jid, string Mechanism)> NegotiateAsync(XmppTransport transport, bool directTls, CancellationToken cancellationToken)
    {
        var domain = Options.Jid.Domain;
        var trust = new CertificateTrust(Options.TrustedCertificateSha256, Options.CaCertificateFile);
        if (directTls)
        {
            await StartTlsAsync(transport, trust, directTls: true, cancellationToken).ConfigureAwait(false);
        }

        var features = await OpenStreamAsync(transport, cancellationToken).ConfigureAwait(false);
        if (!transport.IsTls)
        {
            var startTls = features.Element(s_startTls);
            if (Options.Tls == TlsMode.Off)
            {
                if (startTls?.Element(XName.Get("required", Namespaces.Tls)) is not null)
                {
                    throw new XmppConnectionException(XmppErrorKind.Tls, $"{domain} requires TLS, but TLS was turned off.");
                }
            }
            else if (startTls is null)
            {
                throw new XmppConnectionException(
                    XmppErrorKind.Tls, $"{domain} does not offer STARTTLS; refusing to log in without TLS (use TLS off only on trusted networks).");
            }
            else
            {
                await transport.SendDirectAsync(new XElement(s_startTls), cancellationToken).ConfigureAwait(false);
                var answer = await ReadNegotiationElementAsync(transport, cancellationToken).ConfigureAwait(false);
                if (answer.Name != XName.Get("proceed", Namespaces.Tls))
                {
                    throw new XmppConnectionException(XmppErrorKind.Tls, $"{domain} refused STARTTLS.");
                }

                await StartTlsAsync(transport, trust, directTls: false, cancellationToken).ConfigureAwait(false);
                features = await OpenStreamAsync(transport, cancellationToken).ConfigureAwait(false);
            }
        }

        var mechanism = await AuthenticateAsync(transport, features, cancellationToken).ConfigureAwait(false);
        features = await OpenStreamAsync(transport, cancellationToken).ConfigureAwait(false);
        var jid = await BindAsync(transport, features, cancellationToken).ConfigureAwait(false);
        return (jid, mechanism);
    }

    private async Task StartTlsAsync(XmppTransport transport, CertificateTrust trust, bool directTls, CancellationToken cancellationToken)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = Options.Jid.Domain,
            RemoteCertificateValidationCallback = trust.Validate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (directTls)
        {
            options.ApplicationProtocols = [new SslApplicationProtocol("xmpp-client")];
        }

        try
        {
            await transport.StartTlsAsClientAsync(options, directTls, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppConnectionException ex) when (trust.LastFailure is not null)
        {
            throw new XmppConnectionException(XmppErrorKind.Tls, $"TLS with {Options.Jid.Domain} failed: {trust.LastFailure}.", ex);
        }
    }

    private async Task<XElement> OpenStreamAsync(XmppTransport transport, CancellationToken cancellationToken)
    {
        transport.RestartReader();
        var from = transport.IsTls ? Options.Jid.Bare.ToString() : null;
        await transport.SendHeaderAsync(Namespaces.Client, Options.Jid.Domain, from, null, cancellationToken).ConfigureAwait(false);
        var header = await transport.Reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        if (header.ContentNamespace != Namespaces.Client)
        {
            throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, $"The server opened a '{header.ContentNamespace}' stream, not jabber:client.");
        }

        var features = await ReadNegotiationElementAsync(transport, cancellationToken).ConfigureAwait(false);
        return features.Name == s_features
            ? features
            : throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, $"Expected <stream:features/>, got <{features.Name.LocalName}/>.");
    }

    private static async Task<XElement> ReadNegotiationElementAsync(XmppTransport transport, CancellationToken cancellationToken)
    {
        var element = await transport.Reader.ReadElementAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new XmppConnectionException(XmppErrorKind.Closed, "The server closed the stream during login.");
        if (element.Name == StreamError.Name)
        {
            var (condition, text) = StreamError.Parse(element);
            throw new XmppStreamErrorException(condition, text, sentByUs: false);
        }

        return element;
    }

    private async Task<string> AuthenticateAsync(XmppTransport transport, XElement features, CancellationToken cancellationToken)
    {
        var offered = features.Element(s_mechanisms)?.Elements(XName.Get("mechanism", Namespaces.Sasl)).Select(m => m.Value.Trim()).ToList() ?? [];
        var bindingTypes = features.Element(XName.Get("sasl-channel-binding", Namespaces.SaslChannelBinding))?
            .Elements(XName.Get("channel-binding", Namespaces.SaslChannelBinding))
            .Select(e => (string?)e.Attribute("type"))
            .OfType<string>()
            .ToList() ?? [];
        byte[]? endpointBinding = null;
        if (transport.Tls?.RemoteCertificate is { } remote)
        {
            using var certificate = X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
            endpointBinding = TlsChannelBinding.GetTlsServerEndPoint(certificate);
        }

        var context = new SaslSelectionContext(Options.Jid.Local!, Options.Password, transport.IsTls)
        {
            AllowPlainWithoutTls = Options.AllowPlainWithoutTls,
            TlsServerEndPoint = endpointBinding,
            ChannelBindingTypes = bindingTypes,
        };
        var mechanism = SaslMechanismSelector.Select(offered, context)
            ?? throw new XmppConnectionException(
                XmppErrorKind.Authentication,
                offered.Count == 0
                    ? "The server offers no SASL mechanisms."
                    : $"None of the server's SASL mechanisms ({string.Join(", ", offered)}) is acceptable"
                        + (transport.IsTls ? "." : " without TLS."));

        var initial = mechanism.GetInitialResponse();
        await transport.SendDirectAsync(
            new XElement(XName.Get("auth", Namespaces.Sasl), new XAttribute("mechanism", mechanism.Name), initial.Length == 0 ? "=" : Convert.ToBase64String(initial)),
            cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var answer = await ReadNegotiationElementAsync(transport, cancellationToken).ConfigureAwait(false);
            switch (answer.Name.LocalName)
            {
                case "challenge" when answer.Name.NamespaceName == Namespaces.Sasl:
                    var response = mechanism.EvaluateChallenge(DecodeSasl(answer.Value));
                    await transport.SendDirectAsync(
                        new XElement(XName.Get("response", Namespaces.Sasl), response.Length == 0 ? string.Empty : Convert.ToBase64String(response)),
                        cancellationToken).ConfigureAwait(false);
                    break;
                case "success" when answer.Name.NamespaceName == Namespaces.Sasl:
                    mechanism.VerifySuccess(DecodeSasl(answer.Value));
                    return mechanism.Name;
                case "failure" when answer.Name.NamespaceName == Namespaces.Sasl:
                    var condition = answer.Elements().FirstOrDefault(e => e.Name.LocalName != "text")?.Name.LocalName ?? "not-authorized";
                    var text = answer.Element(XName.Get("text", Namespaces.Sasl))?.Value;
                    throw new XmppConnectionException(
                        XmppErrorKind.Authentication,
                        $"Authentication as {Options.Jid.Bare} failed ({mechanism.Name}): {condition}{(text is null ? string.Empty : " - " + text)}.");
                default:
                    throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, $"Unexpected <{answer.Name.LocalName}/> during SASL.");
            }
        }
    }

    private static byte[] DecodeSasl(string text)
    {
        text = text.Trim();
        if (text.Length == 0 || text == "=")
        {
            return [];
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException ex)
        {
            throw new XmppConnectionException(XmppErrorKind.ProtocolViolation, "The server sent invalid base64 during SASL.", ex);
        }
    }

    private async Task<Jid> BindAsync(XmppTransport transport, XElement features, CancellationToken cancellationToken)
    {
        if (features.Element(s_bind) is null)
        {
            throw new XmppConnectionException(XmppErrorKind.Binding, "The server does not offer resource binding.");
        }

        var bind = new XElement(s_bind);
        if (Options.Jid.Resource is not null)
        {
            bind.Add(new XElement(XName.Get("resource", Namespaces.Bind), Options.Jid.Resource));
        }

        var result = await NegotiationIqAsync(transport, Stanza.MakeIq(IqType.Set, null, bind), "bind", cancellationToken).ConfigureAwait(false);
        var jidText = result.Element(s_bind)?.Element(XName.Get("jid", Namespaces.Bind))?.Value;
        if (!Jid.TryParse(jidText, out var jid) || jid.IsBare)
        {
            throw new XmppConnectionException(XmppErrorKind.Binding, "The server's bind result carries no valid full JID.");
        }

        // RFC 3921 legacy session: only when offered without <optional/> (RFC 6121 dropped it).
        var session = features.Element(s_session);
        if (session is not null && session.Element(XName.Get("optional", Namespaces.Session)) is null)
        {
            await NegotiationIqAsync(transport, Stanza.MakeIq(IqType.Set, null, new XElement(s_session)), "session", cancellationToken).ConfigureAwait(false);
        }

        return jid;
    }

    private static async Task<XElement> NegotiationIqAsync(XmppTransport transport, XElement iq, string what, CancellationToken cancellationToken)
    {
        var id = (string)iq.Attribute("id")!;
        await transport.SendDirectAsync(iq, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var answer = await ReadNegotiationElementAsync(transport, cancellationToken).ConfigureAwait(false);
            if (answer.Name != Stanza.Iq || (string?)answer.Attribute("id") != id)
            {
                continue;
            }

            if (Stanza.GetIqType(answer) == IqType.Error)
            {
                var error = StanzaError.Parse(answer);
                throw new XmppConnectionException(XmppErrorKind.Binding, $"The server refused {what}: {error}.");
            }

            return answer;
        }
    }

}
