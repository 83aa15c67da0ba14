using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class SaslPrepTests
{
    // RFC 4013 §3 examples.
    [Theory]
    [InlineData("I\u00ADX", "IX")]
    [InlineData("user", "user")]
    [InlineData("USER", "USER")]
    [InlineData("\u00AA", "a")]
    [InlineData("\u2168", "IX")]
    [InlineData("a\u00A0b", "a b")]
    [InlineData("a\u200Bb", "ab")]
    [InlineData("a\u3000b", "a b")]
    public void Examples_from_rfc_4013_and_the_mapping_tables_prepare_as_expected(string input, string expected)
    {
        Assert.Equal(expected, SaslPrep.Prepare(input, "value"));
    }

    [Theory]
    [InlineData("\u0007")]
    [InlineData("a\u0000b")]
    [InlineData("a\u007Fb")]
    [InlineData("a\u0085b")]
    [InlineData("a\uE000b")]
    [InlineData("a\uFFFEb")]
    [InlineData("a\uD800b")]
    [InlineData("a\u200Eb")]
    [InlineData("a\uFFFDb")]
    public void Prohibited_output_is_rejected(string input)
    {
        var error = Assert.Throws<ArgumentException>(() => SaslPrep.Prepare(input, "value"));

        Assert.Equal("value", error.ParamName);
    }

    [Theory]
    [InlineData("\u0627\u0031")]
    [InlineData("a\u05D0")]
    public void Bidirectional_text_breaking_rfc_3454_section_6_is_rejected(string input)
    {
        Assert.Throws<ArgumentException>(() => SaslPrep.Prepare(input, "value"));
    }

    [Fact]
    public void Right_to_left_text_that_starts_and_ends_with_a_right_to_left_letter_is_allowed()
    {
        Assert.Equal("\u0627\u0031\u0628", SaslPrep.Prepare("\u0627\u0031\u0628", "value"));
    }
}
