using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using XmppTransfer.Testing.Prosody;

namespace XmppTransfer.Interop.Tests.Fixtures;

[Collection(ProsodyCollection.Name)]
public sealed class ProsodyServerTests(ProsodyFixture fixture)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Prosody_accepts_tcp_on_its_c2s_port_and_requires_starttls()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        ProsodyServer server = fixture.Server;

        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.C2sPort, ct).AsTask().WaitAsync(s_timeout, ct);
        NetworkStream stream = client.GetStream();
        await RawXmpp.WriteAsync(stream, ClientStreamHeader(server.Domain), ct);
        string features = await RawXmpp.ReadUntilAsync(stream, "</stream:features>", ct).WaitAsync(s_timeout, ct);

        Assert.Contains("urn:ietf:params:xml:ns:xmpp-tls", features, StringComparison.Ordinal);
        Assert.Contains("<required", features, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prosody_presents_the_certificate_whose_sha256_the_fixture_reports()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        ProsodyServer server = fixture.Server;

        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.C2sPort, ct).AsTask().WaitAsync(s_timeout, ct);
        NetworkStream stream = client.GetStream();
        await RawXmpp.WriteAsync(stream, ClientStreamHeader(server.Domain), ct);
        _ = await RawXmpp.ReadUntilAsync(stream, "</stream:features>", ct).WaitAsync(s_timeout, ct);
        await RawXmpp.WriteAsync(stream, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", ct);
        _ = await RawXmpp.ReadUntilAsync(stream, "<proceed", ct).WaitAsync(s_timeout, ct);

        string? presented = null;
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: true, (_, certificate, _, _) =>
        {
            // Pinned to the fixture's fingerprint: the handshake succeeds only if it matches.
            presented = certificate is null ? null : Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));
            return presented == server.CertificateSha256;
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = server.Domain }, ct).WaitAsync(s_timeout, ct);

        Assert.True(tls.IsAuthenticated);
        Assert.Equal(server.CertificateSha256, presented);
        Assert.True(File.Exists(server.CertificatePath));
    }

    [Fact]
    public async Task Prosody_answers_socks5_on_its_proxy65_port()
    {
        InteropGate.SkipUnlessEnabled();
        CancellationToken ct = TestContext.Current.CancellationToken;
        ProsodyServer server = fixture.Server;
        Assert.Equal("proxy." + server.Domain, server.ProxyJid);
        Assert.NotNull(server.ProxyPort);

        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.ProxyPort.Value, ct).AsTask().WaitAsync(s_timeout, ct);
        NetworkStream stream = client.GetStream();
        // +-----+----------+----------+      +-----+--------+
        // | VER | NMETHODS | METHODS  |  ->  | VER | METHOD |
        // | 05  |    01    |    00    |      | 05  |   00   |
        await stream.WriteAsync(new byte[] { 5, 1, 0 }, ct);
        byte[] reply = new byte[2];
        await stream.ReadExactlyAsync(reply, ct).AsTask().WaitAsync(s_timeout, ct);

        Assert.Equal(new byte[] { 5, 0 }, reply);
    }

    internal static string ClientStreamHeader(string domain) =>
        $"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' " +
        "xmlns:stream='http://etherx.jabber.org/streams'>";
}
