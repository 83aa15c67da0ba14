using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class SaslMechanismSelectorTests
{
    private static readonly string[] s_all =
        ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"];

    private static readonly byte[] s_endPoint = [1, 2, 3, 4];

    [Theory]
    [InlineData(true, "SCRAM-SHA-256-PLUS")]
    [InlineData(false, "SCRAM-SHA-256")]
    public void The_strongest_mechanism_wins(bool haveBindingData, string expected)
    {
        var context = Tls() with { TlsServerEndPoint = haveBindingData ? s_endPoint : null };

        Assert.Equal(expected, SaslMechanismSelector.Select(s_all, context)?.Name);
    }

    [Theory]
    [InlineData("SCRAM-SHA-256-PLUS,SCRAM-SHA-256,SCRAM-SHA-1-PLUS,SCRAM-SHA-1,PLAIN", "SCRAM-SHA-256-PLUS")]
    [InlineData("SCRAM-SHA-256,SCRAM-SHA-1-PLUS,SCRAM-SHA-1,PLAIN", "SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-1-PLUS,SCRAM-SHA-1,PLAIN", "SCRAM-SHA-1-PLUS")]
    [InlineData("SCRAM-SHA-1,PLAIN", "SCRAM-SHA-1")]
    [InlineData("PLAIN,DIGEST-MD5", "PLAIN")]
    public void The_preference_order_is_sha_256_plus_then_sha_256_then_sha_1_plus_then_sha_1_then_plain(string offered, string expected)
    {
        var context = Tls() with { TlsServerEndPoint = s_endPoint };

        Assert.Equal(expected, SaslMechanismSelector.Select(offered.Split(','), context)?.Name);
    }

    [Fact]
    public void Plain_is_refused_without_tls()
    {
        var context = new SaslSelectionContext("juliet", "secret", IsTls: false);

        Assert.Null(SaslMechanismSelector.Select(["PLAIN"], context));
    }

    [Fact]
    public void Plain_without_tls_is_used_only_when_explicitly_allowed()
    {
        var context = new SaslSelectionContext("juliet", "secret", IsTls: false) { AllowPlainWithoutTls = true };

        Assert.IsType<PlainMechanism>(SaslMechanismSelector.Select(["PLAIN"], context));
    }

    [Fact]
    public void Nothing_acceptable_gives_null()
    {
        Assert.Null(SaslMechanismSelector.Select(["DIGEST-MD5", "X-OAUTH2"], Tls()));
    }

    [Fact]
    public void With_binding_data_but_no_plus_offered_the_y_header_is_used()
    {
        var context = Tls() with { TlsServerEndPoint = s_endPoint };

        var mechanism = SaslMechanismSelector.Select(["SCRAM-SHA-256", "PLAIN"], context);

        Assert.Equal("SCRAM-SHA-256", mechanism?.Name);
        Assert.StartsWith("y,,", Encoding.UTF8.GetString(mechanism!.GetInitialResponse()), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_binding_data_the_n_header_is_used()
    {
        var mechanism = SaslMechanismSelector.Select(s_all, Tls());

        Assert.StartsWith("n,,", Encoding.UTF8.GetString(mechanism!.GetInitialResponse()), StringComparison.Ordinal);
    }

    [Fact]
    public void Plus_is_skipped_when_the_server_advertises_only_other_binding_types_and_then_n_is_sent()
    {
        var context = Tls() with { TlsServerEndPoint = s_endPoint, ChannelBindingTypes = ["tls-exporter"] };

        var mechanism = SaslMechanismSelector.Select(s_all, context);

        Assert.Equal("SCRAM-SHA-256", mechanism?.Name);
        Assert.StartsWith("n,,", Encoding.UTF8.GetString(mechanism!.GetInitialResponse()), StringComparison.Ordinal);
    }

    [Fact]
    public void Plus_is_used_when_the_server_advertises_tls_server_end_point()
    {
        var context = Tls() with { TlsServerEndPoint = s_endPoint, ChannelBindingTypes = ["tls-exporter", "tls-server-end-point"] };

        var mechanism = SaslMechanismSelector.Select(s_all, context);

        Assert.Equal("SCRAM-SHA-256-PLUS", mechanism?.Name);
        Assert.StartsWith("p=tls-server-end-point,,", Encoding.UTF8.GetString(mechanism!.GetInitialResponse()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_context_does_not_print_the_password()
    {
        var context = Tls() with { TlsServerEndPoint = s_endPoint };

        Assert.DoesNotContain("s3cr3t-pass", context.ToString(), StringComparison.Ordinal);
        Assert.Contains("juliet", context.ToString(), StringComparison.Ordinal);
    }

    private static SaslSelectionContext Tls() => new("juliet", "s3cr3t-pass", IsTls: true);
}
