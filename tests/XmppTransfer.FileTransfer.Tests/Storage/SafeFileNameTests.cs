using System.Text;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Tests.Storage;

public sealed class SafeFileNameTests
{
    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Windows\\system.ini", "system.ini")]
    [InlineData("..", "file")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("a\u0000b\nc?.txt", "a_b_c_.txt")]
    [InlineData("name. . ", "name")]
    [InlineData("CON.txt", "_CON.txt")]
    [InlineData("lpt1", "_lpt1")]
    [InlineData("CON                                                                                                                                                                                                                   x", "_CON")]
    public void An_offered_name_becomes_a_plain_name_for_one_folder(string offered, string expected)
    {
        Assert.Equal(expected, SafeFileName.From(offered));
    }

    [Fact]
    public void A_name_as_long_as_a_stanza_is_cut_to_200_utf8_bytes_keeping_its_extension()
    {
        // 256 KiB is what an offer stanza may hold; the cut is one pass (it was one character per pass, seconds per offer).
        var name = SafeFileName.From(new string('a', 256 * 1024) + ".tar.gz");

        Assert.EndsWith("a.gz", name, StringComparison.Ordinal);
        Assert.Equal(200, Encoding.UTF8.GetByteCount(name));
    }

    [Fact]
    public void A_long_name_is_cut_between_characters_never_inside_one()
    {
        // 67 four-byte characters are 268 bytes: the cut keeps 49 of them (196 bytes) and the 4-byte extension.
        var name = SafeFileName.From(string.Concat(Enumerable.Repeat("\U0001F600", 67)) + ".txt");

        Assert.Equal(string.Concat(Enumerable.Repeat("\U0001F600", 49)) + ".txt", name);
        Assert.True(Encoding.UTF8.GetByteCount(name) <= 200);
    }

    [Fact]
    public void A_long_extension_is_cut_with_the_rest_of_the_name()
    {
        var name = SafeFileName.From("x." + new string('e', 300));

        Assert.Equal("x." + new string('e', 198), name);
    }
}
