namespace XmppTransfer.Core.Tests;

public class JidTests
{
    [Theory]
    [InlineData("juliet@example.com/foo", "juliet", "example.com", "foo")]
    [InlineData("example.com", null, "example.com", null)]
    [InlineData("example.com/foo@bar", null, "example.com", "foo@bar")]
    [InlineData("juliet@example.com/foo/bar", "juliet", "example.com", "foo/bar")]
    [InlineData("Juliet@Example.COM.", "juliet", "example.com", null)]
    [InlineData("proxy.example.test", null, "proxy.example.test", null)]
    [InlineData("user@[::1]", "user", "[::1]", null)]
    public void Valid_jids_are_split_into_their_parts(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);
        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    [Theory]
    [InlineData("")]
    [InlineData("@example.com")]
    [InlineData("juliet@")]
    [InlineData("juliet@example.com/")]
    [InlineData("jul iet@example.com")]
    [InlineData("jul:iet@example.com")]
    [InlineData("juliet@exa mple.com")]
    [InlineData("juliet@example..com")]
    [InlineData("a@b@example.com")]
    [InlineData("juliet@[not-ipv6]")]
    public void Invalid_jids_throw_a_clear_argument_exception(string text)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => Jid.Parse(text));
        Assert.Contains("Invalid JID", ex.Message, StringComparison.Ordinal);
        Assert.False(Jid.TryParse(text, out _));
    }

    [Fact]
    public void Parts_longer_than_1023_bytes_are_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => Jid.Parse(new string('a', 1024) + "@example.com"));
        Assert.ThrowsAny<ArgumentException>(() => Jid.Parse("a@example.com/" + new string('r', 1024)));
        Assert.Equal(1023, Jid.Parse(new string('a', 1023) + "@example.com").Local!.Length);
    }

    [Fact]
    public void A_part_that_case_mapping_makes_longer_than_1023_bytes_is_refused()
    {
        // U+023A is 2 bytes of UTF-8 and its lower case U+2C65 is 3: 800 bytes as sent, 1,200 as kept.
        Assert.False(Jid.TryParse(new string('\u023A', 400) + "@example.com", out _));
        Assert.False(Jid.TryParse("a@" + string.Join('.', Enumerable.Repeat(new string('\u023A', 60), 7)), out _));
        Assert.True(Jid.TryParse(new string('\u023A', 341) + "@example.com", out var longest));
        Assert.Equal(1023, System.Text.Encoding.UTF8.GetByteCount(longest.Local!));
    }

    [Fact]
    public void Local_part_and_domain_compare_case_insensitively_but_resource_exactly()
    {
        Assert.Equal(Jid.Parse("ALICE@Example.Test/Home"), Jid.Parse("alice@example.test/Home"));
        Assert.NotEqual(Jid.Parse("alice@example.test/home"), Jid.Parse("alice@example.test/Home"));
        Assert.Equal(Jid.Parse("ALICE@Example.Test/Home").GetHashCode(), Jid.Parse("alice@example.test/Home").GetHashCode());
    }

    [Fact]
    public void Bare_drops_the_resource_and_full_jids_are_not_bare()
    {
        var full = Jid.Parse("alice@example.test/laptop");
        Assert.False(full.IsBare);
        Assert.True(full.Bare.IsBare);
        Assert.Equal("alice@example.test", full.Bare.ToString());
        Assert.Equal("alice@example.test/laptop", full.ToString());
        Assert.Equal("alice@example.test/phone", full.WithResource("phone").ToString());
    }
}
