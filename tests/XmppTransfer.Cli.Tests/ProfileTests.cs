using System.Text.Json;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>Account profiles: --profile NAME fills the connection options; the password stays in its own file.</summary>
[Collection(CliCollection.Name)]
public sealed class ProfileTests(CliServerFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_profile_supplies_the_account_server_pin_and_password_file()
    {
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Root, "profiles-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var passwordFile = Path.Combine(folder, "alice.pw");
        await File.WriteAllTextAsync(passwordFile, CliServerFixture.AlicePassword + "\n");
        var profiles = Path.Combine(folder, "profiles.json");
        await File.WriteAllTextAsync(profiles, JsonSerializer.Serialize(new
        {
            profiles = new Dictionary<string, object>
            {
                ["lab"] = new
                {
                    jid = "alice@cli.test",
                    server = $"127.0.0.1:{fixture.Server.ClientEndPoint.Port}",
                    trustCertSha256 = fixture.Server.CertificateSha256,
                    passwordFile,
                },
            },
        }));

        var (exit, stdout, stderr) = await XftProcess.RunAsync(
            ["disco", "--profile", "lab", "--json"], new Dictionary<string, string> { ["XFT_PROFILES"] = profiles, ["XFT_PASSWORD"] = "" }, s_cap);

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("cli.test", json.RootElement.GetProperty("jid").GetString());
    }

    [Fact]
    public async Task An_unknown_profile_is_a_usage_error_naming_the_file()
    {
        var profiles = Path.Combine(fixture.Root, "empty-profiles.json");
        await File.WriteAllTextAsync(profiles, "{\"profiles\":{}}");
        var (exit, _, stderr) = await XftProcess.RunAsync(["disco", "--profile", "nope"], new Dictionary<string, string> { ["XFT_PROFILES"] = profiles }, s_cap);
        Assert.Equal(2, exit);
        Assert.Contains(profiles, stderr, StringComparison.Ordinal);
    }
}
