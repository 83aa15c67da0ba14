namespace XmppTransfer.Core.Transport.Dns;

/// <summary>A place to connect a client stream to.</summary>
/// <param name="Host">A host name (to resolve with <see cref="System.Net.Dns"/>) or an IP literal.</param>
/// <param name="Port">The TCP port.</param>
/// <param name="DirectTls">
/// <see langword="true"/> to start TLS right after connecting (XEP-0368, <c>_xmpps-client</c>);
/// <see langword="false"/> for a plain stream upgraded with STARTTLS (RFC 6120, <c>_xmpp-client</c>).
/// </param>
internal sealed record XmppEndpoint(string Host, int Port, bool DirectTls);
