using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class ScramClientTests
{
    // RFC 5802 §5.
    private const string Rfc5802Nonce = "fyko+d2lbbFgONRv9qkxdawL";
    private const string Rfc5802ServerFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";

    // RFC 7677 §3.
    private const string Rfc7677Nonce = "rOprNGfwEbeRWgbNEkqO";
    private const string Rfc7677ServerFirst =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    [Fact]
    public void Scram_sha_1_matches_the_rfc_5802_example()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);

        Assert.Equal("SCRAM-SHA-1", client.Name);
        Assert.Equal("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", Text(client.GetInitialResponse()));
        Assert.Equal(
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            Text(client.EvaluateChallenge(Bytes(Rfc5802ServerFirst))));
        Assert.False(client.IsComplete);

        client.VerifySuccess(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
        Assert.True(client.IsComplete);
    }

    [Fact]
    public void Scram_sha_256_matches_the_rfc_7677_example()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "user", "pencil", ScramChannelBinding.None, Rfc7677Nonce);

        Assert.Equal("SCRAM-SHA-256", client.Name);
        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Text(client.GetInitialResponse()));
        Assert.Equal(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            Text(client.EvaluateChallenge(Bytes(Rfc7677ServerFirst))));

        client.VerifySuccess(Bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
        Assert.True(client.IsComplete);
    }

    [Fact]
    public void Server_final_sent_as_a_challenge_is_verified_and_success_may_then_be_empty()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();
        client.EvaluateChallenge(Bytes(Rfc5802ServerFirst));

        Assert.Empty(client.EvaluateChallenge(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")));
        client.VerifySuccess([]);

        Assert.True(client.IsComplete);
    }

    [Fact]
    public void Server_final_repeated_in_success_after_a_challenge_must_still_match()
    {
        var client = RespondedRfc5802Client();
        client.EvaluateChallenge(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));

        client.VerifySuccess(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
        Assert.Throws<XmppConnectionException>(() => client.VerifySuccess(Bytes("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")));
    }

    [Theory]
    [InlineData("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("v=")]
    [InlineData("")]
    [InlineData("x=rmF9pqV8S7suAoZWja4dJRkFsKQ=")]
    public void A_wrong_or_missing_server_signature_is_rejected(string serverFinal)
    {
        var client = RespondedRfc5802Client();

        var error = Assert.Throws<XmppConnectionException>(() => client.VerifySuccess(Bytes(serverFinal)));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
        Assert.False(client.IsComplete);
    }

    [Fact]
    public void A_server_error_in_server_final_is_an_authentication_error()
    {
        var client = RespondedRfc5802Client();

        var error = Assert.Throws<XmppConnectionException>(() => client.VerifySuccess(Bytes("e=invalid-proof")));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
        Assert.Contains("invalid-proof", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096")]
    [InlineData("r=3rfcNHYJY1ZVvWVs7jfyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096")]
    public void A_server_nonce_that_does_not_extend_the_client_nonce_is_rejected(string serverFirst)
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();

        var error = Assert.Throws<XmppConnectionException>(() => client.EvaluateChallenge(Bytes(serverFirst)));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
        Assert.Contains("nonce", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("i=1000001")]
    [InlineData("i=2147483647")]
    [InlineData("i=99999999999999999999")]
    [InlineData("i=0")]
    [InlineData("i=-1")]
    [InlineData("i=abc")]
    public void A_hostile_or_invalid_iteration_count_is_rejected(string iterations)
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();

        var error = Assert.Throws<XmppConnectionException>(
            () => client.EvaluateChallenge(Bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92," + iterations)));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
    }

    [Theory]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=,i=4096")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=!!!!,i=4096")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096")]
    [InlineData("m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096")]
    [InlineData("garbage")]
    public void A_server_first_without_salt_or_with_a_mandatory_extension_is_rejected(string serverFirst)
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();

        var error = Assert.Throws<XmppConnectionException>(() => client.EvaluateChallenge(Bytes(serverFirst)));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
    }

    [Fact]
    public void A_plus_client_sends_the_tls_server_end_point_header_and_binds_the_data_in_c()
    {
        byte[] endPoint = [1, 2, 3, 4, 5, 250];
        var client = new ScramClient(
            ScramHashAlgorithm.Sha256, "user", "pencil", ScramChannelBinding.ForTlsServerEndPoint(endPoint), Rfc7677Nonce);

        Assert.Equal("SCRAM-SHA-256-PLUS", client.Name);
        Assert.Equal("p=tls-server-end-point,,n=user,r=rOprNGfwEbeRWgbNEkqO", Text(client.GetInitialResponse()));

        var clientFinal = Text(client.EvaluateChallenge(Bytes(Rfc7677ServerFirst)));
        var expectedC = Convert.ToBase64String([.. Bytes("p=tls-server-end-point,,"), .. endPoint]);
        Assert.StartsWith("c=" + expectedC + ",r=", clientFinal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_that_could_bind_but_saw_no_plus_sends_the_y_header()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.NotOfferedByServer, Rfc5802Nonce);

        Assert.Equal("SCRAM-SHA-1", client.Name);
        Assert.Equal("y,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", Text(client.GetInitialResponse()));
        Assert.StartsWith("c=eSws,r=", Text(client.EvaluateChallenge(Bytes(Rfc5802ServerFirst))), StringComparison.Ordinal);
    }

    [Fact]
    public void The_user_name_is_saslprepped_and_escaped()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "a=b,c\u00ADd", "pencil", ScramChannelBinding.None, Rfc5802Nonce);

        Assert.Equal("n,,n=a=3Db=2Ccd,r=fyko+d2lbbFgONRv9qkxdawL", Text(client.GetInitialResponse()));
    }

    [Fact]
    public void Success_before_the_exchange_finished_is_rejected()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();

        var error = Assert.Throws<XmppConnectionException>(() => client.VerifySuccess([]));

        Assert.Equal(XmppErrorKind.Authentication, error.Kind);
    }

    private static ScramClient RespondedRfc5802Client()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "user", "pencil", ScramChannelBinding.None, Rfc5802Nonce);
        client.GetInitialResponse();
        client.EvaluateChallenge(Bytes(Rfc5802ServerFirst));
        return client;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
