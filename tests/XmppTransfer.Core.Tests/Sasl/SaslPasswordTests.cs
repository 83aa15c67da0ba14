using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class SaslPasswordTests
{
    [Theory]
    [InlineData("pencil")]
    [InlineData("I\u00ADX")]
    [InlineData("\u00AA")]
    public void A_password_saslprep_accepts_is_usable_with_no_problem(string password)
    {
        Assert.True(SaslPassword.IsUsable(password, out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("secret\u0007bell", "prohibited by SASLprep")]
    [InlineData("secret\uE000part", "prohibited by SASLprep")]
    [InlineData("\u0627\u0031", "right-to-left")]
    public void A_password_saslprep_refuses_is_not_usable_and_the_problem_never_shows_it(string password, string expected)
    {
        Assert.False(SaslPassword.IsUsable(password, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", problem, StringComparison.Ordinal);
    }
}
