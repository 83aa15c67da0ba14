using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class SaslSecretTests
{
    private const string Password = "Tr0ub4dor-and-3";

    [Fact]
    public void No_exception_message_contains_the_password()
    {
        var errors = new List<Exception?>
        {
            Record.Exception(() => new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password + "\u0007", ScramChannelBinding.None)),
            Record.Exception(() => new PlainMechanism("juliet", Password + "\uE000")),
            Record.Exception(() => ScramCredential.Create(ScramHashAlgorithm.Sha1, Password + "\u0000")),
            Record.Exception(() => SaslPrep.Prepare(Password + "\u202E", "password")),
            Record.Exception(() => WrongPasswordExchange()),
            Record.Exception(() => WrongServerSignature()),
            Record.Exception(() => new PlainServer((_, _) => false).Authenticate(Encoding.UTF8.GetBytes("\0juliet\0" + Password))),
            Record.Exception(() => new PlainServer((_, _) => true).Authenticate(Encoding.UTF8.GetBytes("x\0juliet\0" + Password))),
        };

        Assert.All(errors, error =>
        {
            Assert.NotNull(error);
            Assert.DoesNotContain(Password, error!.ToString(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Mechanisms_print_only_their_name()
    {
        var scram = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password, ScramChannelBinding.ForTlsServerEndPoint([1, 2]));
        var plain = new PlainMechanism("juliet", Password);

        Assert.Equal("SCRAM-SHA-256-PLUS", scram.ToString());
        Assert.Equal("PLAIN", plain.ToString());
    }

    private static void WrongPasswordExchange()
    {
        var credential = ScramCredential.Create(ScramHashAlgorithm.Sha256, "other");
        var server = new ScramServer(ScramHashAlgorithm.Sha256, _ => credential, null, plusVariant: false);
        var client = new ScramClient(ScramHashAlgorithm.Sha256, "juliet", Password, ScramChannelBinding.None);
        server.HandleClientFinal(client.EvaluateChallenge(server.HandleClientFirst(client.GetInitialResponse())));
    }

    private static void WrongServerSignature()
    {
        var client = new ScramClient(ScramHashAlgorithm.Sha1, "juliet", Password, ScramChannelBinding.None, "abc");
        client.GetInitialResponse();
        client.EvaluateChallenge(Encoding.UTF8.GetBytes("r=abcdef,s=QSXCR+Q6sek8bf92,i=16"));
        client.VerifySuccess(Encoding.UTF8.GetBytes("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    }
}
