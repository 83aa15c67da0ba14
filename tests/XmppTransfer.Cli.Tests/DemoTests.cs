using System.Text.Json;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The README's first command, with a small file.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task The_demo_sends_by_every_method_and_verifies_each_row()
    {
        var (exit, stdout, stderr) = await XftProcess.RunAsync(["demo", "--size", "2M", "--json"], null, TimeSpan.FromSeconds(120));

        Assert.True(exit == 0, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["ibb", "s5b-direct", "s5b-proxy", "oob"], rows.Select(r => r.GetProperty("method").GetString()));
        Assert.All(rows, r => Assert.True(r.GetProperty("verified").GetBoolean()));
        Assert.All(rows, r => Assert.Equal(2 * 1024 * 1024, r.GetProperty("bytes").GetInt64()));
    }

    [Theory]
    [InlineData("64M", 64L * 1024 * 1024)]
    [InlineData("512K", 512L * 1024)]
    [InlineData("1G", 1024L * 1024 * 1024)]
    [InlineData("1000", 1000L)]
    [InlineData("1.5MiB", 1572864L)]
    public void Sizes_parse_with_binary_units(string text, long expected) => Assert.Equal(expected, Commands.DemoCommand.ParseSize(text));
}
