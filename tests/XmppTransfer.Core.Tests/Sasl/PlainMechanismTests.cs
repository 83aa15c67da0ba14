using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class PlainMechanismTests
{
    [Fact]
    public void The_initial_response_is_nul_user_nul_password()
    {
        var plain = new PlainMechanism("juliet", "r0m30myr0m30");

        Assert.Equal("PLAIN", plain.Name);
        Assert.Equal("\0juliet\0r0m30myr0m30", Encoding.UTF8.GetString(plain.GetInitialResponse()));
    }

    [Fact]
    public void Client_and_server_agree()
    {
        var server = new PlainServer((user, password) => user == "juliet" && password == "r0m30myr0m30");
        var plain = new PlainMechanism("juliet", "r0m30myr0m30");

        server.Authenticate(plain.GetInitialResponse());
        plain.VerifySuccess([]);

        Assert.Equal("juliet", server.AuthenticatedUsername);
        Assert.True(plain.IsComplete);
    }

    [Theory]
    [InlineData("juliet\0juliet\0pw", null)]
    [InlineData("\0juliet\0pw", null)]
    [InlineData("\0juliet\0wrong", "not-authorized")]
    [InlineData("admin\0juliet\0pw", "invalid-authzid")]
    [InlineData("juliet\0pw", "malformed-request")]
    [InlineData("\0\0pw", "malformed-request")]
    [InlineData("\0juliet\0", "malformed-request")]
    [InlineData("\0juliet\0p\u0007w", "malformed-request")]
    public void The_server_checks_the_authzid_and_the_credentials(string message, string? expected)
    {
        var server = new PlainServer((user, password) => user == "juliet" && password == "pw");

        var error = Record.Exception(() => server.Authenticate(Encoding.UTF8.GetBytes(message)));

        if (expected is null)
        {
            Assert.Null(error);
            Assert.Equal("juliet", server.AuthenticatedUsername);
        }
        else
        {
            Assert.Equal(expected, Assert.IsType<SaslAuthenticationException>(error).ConditionName);
            Assert.Null(server.AuthenticatedUsername);
        }
    }
}
