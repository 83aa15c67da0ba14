using XmppTransfer.Core;
using XmppTransfer.Interop.Tests.Fixtures;

namespace XmppTransfer.Interop.Tests.Core;

/// <summary>Our client core against a real Prosody: TLS, SCRAM, bind, disco of the domain and its proxy.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class ProsodyClientTests(ProsodyFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Client_logs_in_with_starttls_a_pinned_certificate_and_scram_sha_256()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice));
        await client.ConnectAsync().WaitAsync(s_cap);

        Assert.True(client.IsTls);
        Assert.StartsWith("SCRAM-SHA-", client.SaslMechanism, StringComparison.Ordinal);
        Assert.Contains("SHA-256", client.SaslMechanism, StringComparison.Ordinal);
        Assert.Equal("alice@example.test", client.BoundJid.Bare.ToString());
        Assert.False(client.BoundJid.IsBare);
    }

    [Fact]
    public async Task Disco_items_of_the_domain_list_the_proxy65_component_and_its_info_says_proxy_bytestreams()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice));
        await client.ConnectAsync().WaitAsync(s_cap);

        var items = await client.Disco.GetItemsAsync(Jid.Parse(fixture.Server.Domain)).WaitAsync(s_cap);
        Assert.Contains(items, i => i.Jid.ToString() == fixture.Server.ProxyJid);
        var info = await client.Disco.GetInfoAsync(Jid.Parse(fixture.Server.ProxyJid!)).WaitAsync(s_cap);
        Assert.True(info.HasIdentity("proxy", "bytestreams"));
        Assert.True(info.HasFeature(Namespaces.Bytestreams));
    }

    [Fact]
    public async Task A_wrong_pin_fails_with_a_tls_error_that_names_the_real_fingerprint()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice) with { TrustedCertificateSha256 = new string('a', 64) });
        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => client.ConnectAsync().WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Tls, ex.Kind);
        Assert.Contains(fixture.Server.CertificateSha256!, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_untrusted_self_signed_certificate_is_refused_without_a_pin()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice) with { TrustedCertificateSha256 = null });
        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => client.ConnectAsync().WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Tls, ex.Kind);
    }

    [Fact]
    public async Task The_certificate_file_as_ca_is_trusted()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice) with { TrustedCertificateSha256 = null, CaCertificateFile = fixture.Server.CertificatePath });
        await client.ConnectAsync().WaitAsync(s_cap);
        Assert.True(client.IsTls);
    }

    [Fact]
    public async Task A_wrong_password_fails_with_an_authentication_error_without_the_password()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice) with { Password = "definitely-wrong-pw" });
        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => client.ConnectAsync().WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.DoesNotContain("definitely-wrong-pw", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_off_is_refused_by_a_server_that_requires_encryption()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice) with { Tls = TlsMode.Off });
        var ex = await Assert.ThrowsAnyAsync<XmppException>(() => client.ConnectAsync().WaitAsync(s_cap));
        Assert.Contains(ex.Kind, new[] { XmppErrorKind.Tls, XmppErrorKind.Authentication, XmppErrorKind.StreamError });
    }

    [Fact]
    public async Task An_unanswered_iq_to_a_missing_resource_gets_an_error_not_a_hang()
    {
        InteropGate.SkipUnlessEnabled();
        await using var client = new XmppClient(Options(ProsodyFixture.Alice));
        await client.ConnectAsync().WaitAsync(s_cap);
        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(
            () => client.Disco.GetInfoAsync(Jid.Parse("bob@example.test/not-here")).WaitAsync(s_cap));
        Assert.Equal("service-unavailable", ex.Error.Condition);
    }

    internal XmppClientOptions Options(string user) => new()
    {
        Jid = Jid.Parse($"{user}@{fixture.Server.Domain}"),
        Password = ProsodyFixture.Password,
        Host = fixture.Server.Host,
        Port = fixture.Server.C2sPort,
        TrustedCertificateSha256 = fixture.Server.CertificateSha256,
    };
}
