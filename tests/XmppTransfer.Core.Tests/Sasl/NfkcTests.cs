using System.Security.Cryptography;
using System.Text;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Core.Tests.Sasl;

public sealed class NfkcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("a\u0301\u0327", "\u00E1\u0327")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]
    [InlineData("\uFB01", "fi")]
    [InlineData("\u212B", "\u00C5")]
    [InlineData("\uFF21\uFF22", "AB")]
    [InlineData("A\u030A\u0323", "\u1EA0\u030A")]
    [InlineData("\u1E9B\u0323", "\u1E69")]
    [InlineData("\u3200", "(\u1100)")]
    [InlineData("\u00BD", "1\u20442")]
    [InlineData("\u2168", "IX")]
    public void Composes_decomposes_and_reorders_like_unicode_3_2_nfkc(string input, string expected)
    {
        Assert.Equal(expected, Nfkc.Normalize(input));
    }

    [Fact]
    public void Every_single_code_point_normalizes_like_the_unicode_3_2_reference()
    {
        // SHA-256 over UTF-8(NFKC(cp)) + NUL for every scalar value, from Python's unicodedata.ucd_3_2_0.
        const string Expected = "cf700c76558c3750339fc9f6db2376e1e3b5cc815d7d9adb9c2eaa6d1f2a3e90";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var codePoint = 0; codePoint <= 0x10FFFF; codePoint++)
        {
            if (codePoint is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            hash.AppendData(Encoding.UTF8.GetBytes(Nfkc.Normalize(char.ConvertFromUtf32(codePoint)) + "\0"));
        }

        Assert.Equal(Expected, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
