using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class ScramServerTests
{
    private const string Password = "pencil";

    [Fact]
    public void Scram_sha_1_server_reproduces_the_rfc_5802_example()
    {
        var credential = ScramCredential.Create(ScramHashAlgorithm.Sha1, "pencil", 4096, Convert.FromBase64String("QSXCR+Q6sek8bf92"));
        var server = new ScramServer(
            ScramHashAlgorithm.Sha1, name => name == "user" ? credential : null, null, plusVariant: false, nonceSuffix: "3rfcNHYJY1ZVvWVs7j");

        var serverFirst = server.HandleClientFirst(Bytes("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
        Assert.Equal("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", Text(serverFirst));

        var serverFinal = server.HandleClientFinal(
            Bytes("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
        Assert.Equal("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", Text(serverFinal));
        Assert.Equal("user", server.AuthenticatedUsername);
    }

    [Fact]
    public void Scram_sha_256_server_reproduces_the_rfc_7677_example()
    {
        var credential = ScramCredential.Create(
            ScramHashAlgorithm.Sha256, "pencil", 4096, Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="));
        var server = new ScramServer(
            ScramHashAlgorithm.Sha256, _ => credential, null, plusVariant: false, nonceSuffix: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

        server.HandleClientFirst(Bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        var serverFinal = server.HandleClientFinal(Bytes(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));

        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Text(serverFinal));
    }

    [Theory]
    [InlineData(ScramHashAlgorithm.Sha1)]
    [InlineData(ScramHashAlgorithm.Sha256)]
    public void Client_and_server_agree(ScramHashAlgorithm algorithm)
    {
        var server = NewServer(algorithm, null, plus: false);
        var client = new ScramClient(algorithm, "juliet", Password, ScramChannelBinding.None);

        RunExchange(client, server);

        Assert.True(client.IsComplete);
        Assert.Equal("juliet", server.AuthenticatedUsername);
    }

    [Theory]
    [InlineData(ScramHashAlgorithm.Sha1)]
    [InlineData(ScramHashAlgorithm.Sha256)]
    public void Client_and_server_agree_with_channel_binding(ScramHashAlgorithm algorithm)
    {
        byte[] endPoint = [9, 8, 7, 6, 5, 4, 3, 2, 1];
        var server = NewServer(algorithm, endPoint, plus: true);
        var client = new ScramClient(algorithm, "juliet", Password, ScramChannelBinding.ForTlsServerEndPoint(endPoint));

        RunExchange(client, server);

        Assert.True(client.IsComplete);
        Assert.Equal("juliet", server.AuthenticatedUsername);
        Assert.EndsWith("-PLUS", server.Mechanism, StringComparison.Ordinal);
    }

    [Fact]
    public void Different_channel_binding_data_fails_as_not_authorized()
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, [1, 2, 3], plus: true);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password, ScramChannelBinding.ForTlsServerEndPoint([1, 2, 4]));

        var error = Assert.Throws<SaslAuthenticationException>(() => RunExchange(client, server));

        Assert.Equal(SaslFailureCondition.NotAuthorized, error.Condition);
        Assert.Null(server.AuthenticatedUsername);
    }

    [Fact]
    public void A_wrong_password_fails_as_not_authorized()
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, null, plus: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", "not-" + Password, ScramChannelBinding.None);

        var error = Assert.Throws<SaslAuthenticationException>(() => RunExchange(client, server));

        Assert.Equal(SaslFailureCondition.NotAuthorized, error.Condition);
        Assert.Equal("not-authorized", error.ConditionName);
        Assert.Null(server.AuthenticatedUsername);
    }

    [Fact]
    public void An_unknown_user_gets_a_plausible_exchange_then_fails_as_not_authorized()
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, null, plus: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "romeo", Password, ScramChannelBinding.None);

        var serverFirst = Text(server.HandleClientFirst(client.GetInitialResponse()));
        Assert.Matches("^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$", serverFirst);

        var clientFinal = client.EvaluateChallenge(Bytes(serverFirst));
        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFinal(clientFinal));

        Assert.Equal(SaslFailureCondition.NotAuthorized, error.Condition);
    }

    [Fact]
    public void An_unknown_user_sees_the_same_salt_on_every_attempt()
    {
        string Salt()
        {
            var server = NewServer(ScramHashAlgorithm.Sha1, null, plus: false);
            var serverFirst = Text(server.HandleClientFirst(Bytes("n,,n=nobody,r=abcdef")));
            return serverFirst.Split(',')[1];
        }

        Assert.Equal(Salt(), Salt());
    }

    [Fact]
    public void The_server_refuses_the_y_flag_when_it_offers_plus()
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, [1, 2, 3], plus: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password, ScramChannelBinding.NotOfferedByServer);

        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFirst(client.GetInitialResponse()));

        Assert.Equal(SaslFailureCondition.NotAuthorized, error.Condition);
    }

    [Fact]
    public void The_server_accepts_the_y_flag_when_it_offers_no_plus()
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, null, plus: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password, ScramChannelBinding.NotOfferedByServer);

        RunExchange(client, server);

        Assert.Equal("juliet", server.AuthenticatedUsername);
    }

    [Theory]
    [InlineData("n,,n=juliet,r=abc")]
    [InlineData("y,,n=juliet,r=abc")]
    [InlineData("p=tls-unique,,n=juliet,r=abc")]
    public void The_plus_variant_requires_the_tls_server_end_point_flag(string clientFirst)
    {
        var server = NewServer(ScramHashAlgorithm.Sha256, [1, 2, 3], plus: true);

        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFirst(Bytes(clientFirst)));

        Assert.Equal(SaslFailureCondition.MalformedRequest, error.Condition);
    }

    [Theory]
    [InlineData("")]
    [InlineData("n,n=juliet,r=abc")]
    [InlineData("n,,r=abc,n=juliet")]
    [InlineData("n,,m=ext,n=juliet,r=abc")]
    [InlineData("n,,n=jul=2Xiet,r=abc")]
    [InlineData("n,,n=juliet,r=a,b")]
    [InlineData("p=tls-server-end-point,,n=juliet,r=abc")]
    [InlineData("q,,n=juliet,r=abc")]
    public void A_malformed_client_first_is_a_malformed_request(string clientFirst)
    {
        var server = NewServer(ScramHashAlgorithm.Sha1, null, plus: false);

        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFirst(Bytes(clientFirst)));

        Assert.Equal(SaslFailureCondition.MalformedRequest, error.Condition);
    }

    [Fact]
    public void Another_authorization_identity_is_refused()
    {
        var server = NewServer(ScramHashAlgorithm.Sha1, null, plus: false);

        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFirst(Bytes("n,a=admin,n=juliet,r=abc")));

        Assert.Equal(SaslFailureCondition.InvalidAuthzid, error.Condition);
    }

    [Fact]
    public void A_client_final_with_another_nonce_fails()
    {
        var server = NewServer(ScramHashAlgorithm.Sha1, null, plus: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "juliet", Password, ScramChannelBinding.None);
        var serverFirst = server.HandleClientFirst(client.GetInitialResponse());
        var clientFinal = Text(client.EvaluateChallenge(serverFirst));
        var tampered = clientFinal.Replace(",r=", ",r=X", StringComparison.Ordinal);

        var error = Assert.Throws<SaslAuthenticationException>(() => server.HandleClientFinal(Bytes(tampered)));

        Assert.Equal(SaslFailureCondition.NotAuthorized, error.Condition);
    }

    [Fact]
    public void The_credential_shows_no_key_material()
    {
        var credential = ScramCredential.Create(ScramHashAlgorithm.Sha256, Password);

        var text = credential.ToString();

        Assert.Equal("SCRAM-SHA-256", credential.Mechanism);
        Assert.Equal(16, credential.Salt.Length);
        Assert.Equal(4096, credential.Iterations);
        Assert.DoesNotContain(Convert.ToBase64String(credential.StoredKey), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(credential.ServerKey), text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Byte[]", text, StringComparison.Ordinal);
        Assert.Contains("SCRAM-SHA-256", text, StringComparison.Ordinal);
    }

    private static ScramServer NewServer(ScramHashAlgorithm algorithm, byte[]? endPoint, bool plus)
    {
        var credential = ScramCredential.Create(algorithm, Password);
        return new ScramServer(algorithm, name => name == "juliet" ? credential : null, endPoint, plus);
    }

    private static void RunExchange(ScramClient client, ScramServer server)
    {
        var serverFirst = server.HandleClientFirst(client.GetInitialResponse());
        var clientFinal = client.EvaluateChallenge(serverFirst);
        var serverFinal = server.HandleClientFinal(clientFinal);
        client.VerifySuccess(serverFinal);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
