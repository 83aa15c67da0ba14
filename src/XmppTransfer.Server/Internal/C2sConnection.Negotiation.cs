using System.Globalization;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Sasl;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Xml;
using XmppTransfer.Server.Accounts;

namespace XmppTransfer.Server.Internal;

internal sealed partial class C2sConnection
{
    private static readonly XName s_features = XName.Get("features", Namespaces.Streams);
    private static readonly XName s_startTls = XName.Get("starttls", Namespaces.Tls);
    private static readonly XName s_bind = XName.Get("bind", Namespaces.Bind);
    private static readonly XName s_session = XName.Get("session", Namespaces.Session);

    // C: <stream:stream to=domain>     S: <stream:stream from=domain id=…> <stream:features>starttls</…>
    // C: <starttls/>  S: <proceed/>    TLS handshake, restart
    // C: <stream:stream>               S: header, features(mechanisms, sasl-channel-binding)
    // C: <auth/> … S: <success/>       restart
    // C: <stream:stream>               S: header, features(bind, session optional, limits)
    // C: <iq type=set><bind/></iq>     S: <iq type=result><bind><jid/></bind></iq>     → session
    private async Task<bool> NegotiateAsync(CancellationToken cancellationToken)
    {
        if (_directTls)
        {
            await _transport.StartTlsAsServerAsync(TlsOptions(), cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            if (!await OpenStreamAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var restart = false;
            while (!restart)
            {
                var element = await _transport.Reader.ReadElementAsync(cancellationToken).ConfigureAwait(false);
                if (element is null || element.Name == StreamError.Name)
                {
                    return false;
                }

                if (element.Name == s_startTls)
                {
                    if (_transport.IsTls || _user is not null)
                    {
                        throw new XmppStreamErrorException("policy-violation", "STARTTLS is only allowed once, before authentication.", sentByUs: true);
                    }

                    await _transport.SendDirectAsync(new XElement(XName.Get("proceed", Namespaces.Tls)), cancellationToken).ConfigureAwait(false);
                    await _transport.StartTlsAsServerAsync(TlsOptions(), cancellationToken).ConfigureAwait(false);
                    restart = true;
                }
                else if (element.Name == XName.Get("auth", Namespaces.Sasl))
                {
                    if (_user is not null)
                    {
                        throw new XmppStreamErrorException("policy-violation", "Already authenticated.", sentByUs: true);
                    }

                    if (_server.Options.RequireTls && !_transport.IsTls)
                    {
                        throw new XmppStreamErrorException("policy-violation", "This server requires STARTTLS before authentication.", sentByUs: true);
                    }

                    restart = await AuthenticateAsync(element, cancellationToken).ConfigureAwait(false);
                }
                else if (element.Name == Stanza.Iq && _user is not null)
                {
                    if (await HandleNegotiationIqAsync(element, cancellationToken).ConfigureAwait(false))
                    {
                        return true;
                    }
                }
                else
                {
                    throw new XmppStreamErrorException("not-authorized", "Stanzas are only accepted after authentication and resource binding.", sentByUs: true);
                }
            }
        }
    }

    private async Task<bool> OpenStreamAsync(CancellationToken cancellationToken)
    {
        _transport.RestartReader();
        _headerSent = false;
        StreamHeader header;
        using (var headerTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            headerTimeout.CancelAfter(_server.Options.HeaderTimeout);
            try
            {
                header = await _transport.Reader.ReadHeaderAsync(headerTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new XmppStreamErrorException("connection-timeout", "No stream header in time.", sentByUs: true);
            }
            catch (XmlLimitExceededException ex)
            {
                throw new XmppStreamErrorException("policy-violation", ex.Message, sentByUs: true);
            }
        }

        if (header.ContentNamespace != Namespaces.Client)
        {
            throw new XmppStreamErrorException("invalid-namespace", "This port serves jabber:client streams.", sentByUs: true);
        }

        if (header.To is not null && !string.Equals(header.To.TrimEnd('.'), _server.Router.Domain, StringComparison.OrdinalIgnoreCase))
        {
            throw new XmppStreamErrorException("host-unknown", "This server does not serve that domain.", sentByUs: true);
        }

        if (header.Version is null || !Version.TryParse(header.Version, out var version) || version.Major < 1)
        {
            throw new XmppStreamErrorException("unsupported-version", "XMPP 1.0 streams only.", sentByUs: true);
        }

        var to = Jid.TryParse(header.From, out var from) ? from.ToString() : null;
        await _transport.SendHeaderAsync(Namespaces.Client, to, _server.Router.Domain, Stanza.NewId(), cancellationToken).ConfigureAwait(false);
        _headerSent = true;
        await _transport.SendDirectAsync(Features(), cancellationToken).ConfigureAwait(false);
        return true;
    }

    private XElement Features()
    {
        var options = _server.Options;
        var features = new XElement(s_features);
        if (_user is not null)
        {
            features.Add(
                new XElement(s_bind),
                new XElement(s_session, new XElement(XName.Get("optional", Namespaces.Session))),
                new XElement(
                    XName.Get("limits", Namespaces.StreamLimits),
                    new XElement(XName.Get("max-bytes", Namespaces.StreamLimits), options.MaxStanzaBytes.ToString(CultureInfo.InvariantCulture)),
                    new XElement(XName.Get("idle-seconds", Namespaces.StreamLimits), ((int)options.IdleTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture))));
            return features;
        }

        if (!_transport.IsTls)
        {
            var startTls = new XElement(s_startTls);
            if (options.RequireTls)
            {
                startTls.Add(new XElement(XName.Get("required", Namespaces.Tls)));
                features.Add(startTls);
                return features;
            }

            features.Add(startTls);
        }

        var mechanisms = new XElement(XName.Get("mechanisms", Namespaces.Sasl));
        var binding = _transport.IsTls ? _server.ChannelBinding : null;
        foreach (var name in new[] { "SCRAM-SHA-256", "SCRAM-SHA-1" })
        {
            if (binding is not null)
            {
                mechanisms.Add(new XElement(XName.Get("mechanism", Namespaces.Sasl), name + "-PLUS"));
            }

            mechanisms.Add(new XElement(XName.Get("mechanism", Namespaces.Sasl), name));
        }

        if (options.AllowPlain && _transport.IsTls)
        {
            mechanisms.Add(new XElement(XName.Get("mechanism", Namespaces.Sasl), "PLAIN"));
        }

        features.Add(mechanisms);
        if (binding is not null)
        {
            // XEP-0440: the channel-binding types we support.
            features.Add(new XElement(
                XName.Get("sasl-channel-binding", Namespaces.SaslChannelBinding),
                new XElement(XName.Get("channel-binding", Namespaces.SaslChannelBinding), new XAttribute("type", ScramChannelBinding.TlsServerEndPointType))));
        }

        return features;
    }

    private async Task<bool> AuthenticateAsync(XElement auth, CancellationToken cancellationToken)
    {
        var options = _server.Options;
        var accounts = _server.Accounts;
        accounts.ReloadIfChanged();
        var mechanism = ((string?)auth.Attribute("mechanism"))?.Trim() ?? string.Empty;
        string? user = null;
        var lockedOut = false;

        // The throttle's place for this attempt, taken once the account is named and before its credentials are checked. A
        // <failure/> answer makes it a failure (as every failure answered so far: aborts and malformed exchanges included); a
        // success gives it back; an exchange that ends without an answer (closed, cancelled, stream error) gives it back in
        // the finally below: no proof was checked, or its answer never left.
        AuthThrottle.Attempt? attempt = null;
        AuthThrottle.Attempt? Begin(string name)
        {
            user = Normalize(name);
            if (user is null)
            {
                return null;
            }

            attempt = _server.Throttle.TryBeginAttempt(RemoteAddress, user);
            lockedOut = attempt is null;
            return attempt;
        }

        try
        {
            if (_server.Throttle.IsLockedOut(RemoteAddress, null))
            {
                lockedOut = true;
                throw new SaslAuthenticationException(SaslFailureCondition.TemporaryAuthFailure, "Too many failures from this address.");
            }

            var initial = DecodeSasl(auth.Value);
            var binding = _transport.IsTls ? _server.ChannelBinding : null;
            switch (mechanism)
            {
                case "SCRAM-SHA-256" or "SCRAM-SHA-1" or "SCRAM-SHA-256-PLUS" or "SCRAM-SHA-1-PLUS":
                    var plus = mechanism.EndsWith("-PLUS", StringComparison.Ordinal);
                    if (plus && binding is null)
                    {
                        throw new SaslAuthenticationException(SaslFailureCondition.InvalidMechanism, mechanism + " is not offered.");
                    }

                    var algorithm = mechanism.StartsWith("SCRAM-SHA-256", StringComparison.Ordinal) ? ScramHashAlgorithm.Sha256 : ScramHashAlgorithm.Sha1;
                    var scram = new ScramServer(
                        algorithm,
                        // A refused attempt gets the unknown user's fake exchange: its proof is never checked.
                        name => Begin(name) is null ? null : accounts.GetCredential(user!, algorithm),
                        binding,
                        plus,
                        options.ScramIterations);
                    if (initial.Length == 0)
                    {
                        await SendSaslAsync("challenge", [], cancellationToken).ConfigureAwait(false);
                        initial = await ReadSaslResponseAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await SendSaslAsync("challenge", scram.HandleClientFirst(initial), cancellationToken).ConfigureAwait(false);
                    var final = scram.HandleClientFinal(await ReadSaslResponseAsync(cancellationToken).ConfigureAwait(false));
                    if (lockedOut)
                    {
                        throw new SaslAuthenticationException(SaslFailureCondition.TemporaryAuthFailure, "Too many failures for this account from this address.");
                    }

                    attempt!.Succeed();
                    _mechanism = mechanism;
                    _user = user;
                    await SendSaslAsync("success", final, cancellationToken).ConfigureAwait(false);
                    break;
                case "PLAIN" when options.AllowPlain && _transport.IsTls:
                    if (initial.Length == 0)
                    {
                        await SendSaslAsync("challenge", [], cancellationToken).ConfigureAwait(false);
                        initial = await ReadSaslResponseAsync(cancellationToken).ConfigureAwait(false);
                    }

                    var plain = new PlainServer((name, password) => Begin(name) is not null && accounts.VerifyPassword(user!, password));
                    plain.Authenticate(initial);
                    attempt!.Succeed();
                    _mechanism = mechanism;
                    _user = user;
                    await SendSaslAsync("success", [], cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new SaslAuthenticationException(SaslFailureCondition.InvalidMechanism, "The mechanism is not offered.");
            }
        }
        catch (SaslAuthenticationException ex)
        {
            _server.Metrics.AuthFailed();
            var condition = lockedOut ? "temporary-auth-failure" : ex.ConditionName;
            if (lockedOut)
            {
                ServerLog.LockedOut(_server.Logger, user ?? "(unknown)", RemoteAddress);
            }
            else
            {
                ServerLog.AuthFailed(_server.Logger, user ?? "(unknown)", RemoteAddress, mechanism, condition);
            }

            var delay = attempt?.Fail() ?? _server.Throttle.RecordRefusal(RemoteAddress, user);
            await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
            await _transport.SendDirectAsync(
                new XElement(XName.Get("failure", Namespaces.Sasl), new XElement(XName.Get(condition, Namespaces.Sasl))), cancellationToken).ConfigureAwait(false);
            _authFailures++;
            if (_authFailures >= options.MaxAuthAttemptsPerStream)
            {
                throw new XmppStreamErrorException("policy-violation", "Too many failed authentication attempts.", sentByUs: true);
            }

            return false;
        }
        finally
        {
            attempt?.Dispose();
        }

        _server.Metrics.AuthSucceeded();
        _transport.AdmitNewNames = true;
        return true;
    }

    private async Task<bool> HandleNegotiationIqAsync(XElement iq, CancellationToken cancellationToken)
    {
        var type = Stanza.GetIqType(iq);
        var bind = iq.Element(s_bind);
        if (type == IqType.Set && bind is not null)
        {
            var outcome = _server.Router.Bind(this, _user!, bind.Element(XName.Get("resource", Namespaces.Bind))?.Value.Trim());
            if (outcome.Replaced is { } replaced)
            {
                _server.Track(replaced.CloseAsync("conflict", "Replaced by a new session for the same resource.", _server.Options.ShutdownTimeout));
            }

            if (outcome.Jid is null)
            {
                await _transport.SendDirectAsync(Stanza.MakeError(iq, outcome.Error!), cancellationToken).ConfigureAwait(false);
                return false;
            }

            await _transport.SendDirectAsync(
                Stanza.MakeResult(iq, new XElement(s_bind, new XElement(XName.Get("jid", Namespaces.Bind), outcome.Jid.ToString()))),
                cancellationToken).ConfigureAwait(false);
            ServerLog.SessionBound(_server.Logger, outcome.Jid.ToString(), RemoteAddress, _mechanism ?? "?", _transport.IsTls);
            return true;
        }

        if (type is IqType.Get or IqType.Set)
        {
            var reply = iq.Element(s_session) is not null
                ? Stanza.MakeResult(iq)
                : Stanza.MakeError(iq, new StanzaError(StanzaErrorType.Cancel, "not-allowed", "Bind a resource first."));
            await _transport.SendDirectAsync(reply, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private async Task SendSaslAsync(string name, byte[] data, CancellationToken cancellationToken) =>
        await _transport.SendDirectAsync(
            new XElement(XName.Get(name, Namespaces.Sasl), data.Length == 0 ? null : Convert.ToBase64String(data)), cancellationToken).ConfigureAwait(false);

    private async Task<byte[]> ReadSaslResponseAsync(CancellationToken cancellationToken)
    {
        var element = await _transport.Reader.ReadElementAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new XmppConnectionException(XmppErrorKind.Closed, "The client closed the stream during SASL.");
        if (element.Name == XName.Get("abort", Namespaces.Sasl))
        {
            throw new SaslAuthenticationException(SaslFailureCondition.Aborted, "The client aborted.");
        }

        return element.Name == XName.Get("response", Namespaces.Sasl)
            ? DecodeSasl(element.Value)
            : throw new SaslAuthenticationException(SaslFailureCondition.MalformedRequest, $"Expected <response/>, got <{element.Name.LocalName}/>.");
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
        catch (FormatException)
        {
            throw new SaslAuthenticationException(SaslFailureCondition.IncorrectEncoding, "The SASL data is not base64.");
        }
    }

    private static string? Normalize(string name)
    {
        try
        {
            return AccountStore.NormalizeUser(name);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
