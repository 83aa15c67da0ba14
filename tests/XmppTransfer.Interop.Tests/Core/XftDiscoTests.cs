using System.Text.Json;
using XmppTransfer.Interop.Tests.Fixtures;
using XmppTransfer.Testing;

namespace XmppTransfer.Interop.Tests.Core;

/// <summary>The real <c>xft disco</c> binary against Prosody.</summary>
[Collection(ProsodyCollection.Name)]
public sealed class XftDiscoTests(ProsodyFixture fixture)
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Xft_disco_of_the_domain_lists_the_proxy_and_disco_of_the_proxy_shows_proxy_bytestreams()
    {
        InteropGate.SkipUnlessEnabled();
        var (exit, stdout, stderr) = await XftProcess.RunAsync(Args(fixture.Server.Domain, json: false), Env(), s_cap);
        Assert.True(exit == 0, stderr);
        Assert.Contains(fixture.Server.ProxyJid!, stdout, StringComparison.Ordinal);

        (exit, stdout, stderr) = await XftProcess.RunAsync(Args(fixture.Server.ProxyJid!, json: true), Env(), s_cap);
        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains(json.RootElement.GetProperty("identities").EnumerateArray(), i =>
            i.GetProperty("category").GetString() == "proxy" && i.GetProperty("type").GetString() == "bytestreams");
    }

    [Fact]
    public async Task Xft_disco_without_a_password_is_a_usage_error_and_never_reads_argv_secrets()
    {
        InteropGate.SkipUnlessEnabled();
        var (exit, _, stderr) = await XftProcess.RunAsync(Args(fixture.Server.Domain, json: false), new Dictionary<string, string> { ["XFT_PASSWORD"] = "" }, s_cap);
        Assert.Equal(2, exit);
        Assert.Contains("XFT_PASSWORD", stderr, StringComparison.Ordinal);
    }

    private string[] Args(string target, bool json)
    {
        var args = new List<string>
        {
            "disco", target,
            "--jid", $"{ProsodyFixture.Alice}@{fixture.Server.Domain}",
            "--server", $"{fixture.Server.Host}:{fixture.Server.C2sPort}",
            "--trust-cert-sha256", fixture.Server.CertificateSha256!,
        };
        if (json)
        {
            args.Add("--json");
        }

        return [.. args];
    }

    private static Dictionary<string, string> Env() => new() { ["XFT_PASSWORD"] = ProsodyFixture.Password };
}
