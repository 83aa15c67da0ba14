using XmppTransfer.Core;

namespace XmppTransfer.Server.Tests;

public sealed class LoginTests
{
    [Fact]
    public async Task Our_client_logs_in_over_starttls_with_scram_against_the_pinned_certificate()
    {
        await using var harness = await ServerHarness.StartAsync();

        var alice = await harness.ConnectAsync("alice", "laptop");

        Assert.Equal("alice@example.test/laptop", alice.BoundJid.ToString());
        Assert.Equal(1, harness.Server.Metrics.AuthSuccesses);
        Assert.Equal(1, harness.Server.Metrics.SessionsOpen);
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", harness.Server.CertificateSha256);
    }

    [Fact]
    public async Task With_channel_binding_offered_our_client_logs_in_with_scram_plus()
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { OfferChannelBinding = true });

        var alice = await harness.ConnectAsync("alice");

        Assert.True(alice.IsConnected);
        Assert.Equal(1, harness.Server.Metrics.AuthSuccesses);
    }

    [Fact]
    public async Task A_client_pinning_another_certificate_refuses_the_server()
    {
        await using var harness = await ServerHarness.StartAsync();
        var options = harness.ClientOptions("alice") with { TrustedCertificateSha256 = new string('A', 64) };

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => harness.ConnectAsync("alice", options: options));

        Assert.Equal(XmppErrorKind.Tls, ex.Kind);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_as_an_authentication_failure()
    {
        await using var harness = await ServerHarness.StartAsync();

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(
            () => harness.ConnectAsync("alice", options: harness.ClientOptions("alice", password: "wrong")));

        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.Contains("not-authorized", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Server.Metrics.AuthFailures);
    }

    [Fact]
    public async Task An_unknown_account_looks_exactly_like_a_wrong_password()
    {
        await using var harness = await ServerHarness.StartAsync();

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => harness.ConnectAsync("mallory"));

        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.Contains("not-authorized", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binding_a_resource_in_use_replaces_the_old_session_with_a_conflict_stream_error()
    {
        await using var harness = await ServerHarness.StartAsync();
        var first = await harness.ConnectAsync("alice", "phone");

        var second = await harness.ConnectAsync("alice", "phone");

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => first.Completion.WaitAsync(ServerHarness.Cap));
        Assert.Equal("conflict", ex.Condition);
        Assert.Equal("alice@example.test/phone", second.BoundJid.ToString());
        Assert.True(second.IsConnected);
    }

    [Fact]
    public async Task With_the_generate_policy_a_conflicting_resource_gets_a_new_name_and_both_stay()
    {
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { ResourceConflict = ResourceConflictPolicy.GenerateNew });
        var first = await harness.ConnectAsync("alice", "phone");

        var second = await harness.ConnectAsync("alice", "phone");

        Assert.NotEqual(first.BoundJid, second.BoundJid);
        Assert.StartsWith("phone.", second.BoundJid.Resource, StringComparison.Ordinal);
        Assert.True(first.IsConnected);
    }

    [Fact]
    public async Task With_the_generate_policy_a_conflicting_resource_too_long_for_a_suffix_gets_a_generated_name()
    {
        // 1,020 bytes: the first session binds it; ".xft-" and 12 hex digits more would pass the 1023-byte limit, where the
        // server threw and ended the second login with internal-server-error.
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { ResourceConflict = ResourceConflictPolicy.GenerateNew });
        var resource = new string('r', 1020);
        var first = await harness.ConnectAsync("alice", resource);

        var second = await harness.ConnectAsync("alice", resource);

        Assert.Equal(resource, first.BoundJid.Resource);
        Assert.StartsWith("xft-", second.BoundJid.Resource, StringComparison.Ordinal);
        Assert.True(first.IsConnected);
    }

    [Fact]
    public async Task Without_a_requested_resource_the_server_generates_one()
    {
        await using var harness = await ServerHarness.StartAsync();

        var alice = await harness.ConnectAsync("alice");

        Assert.False(string.IsNullOrEmpty(alice.BoundJid.Resource));
    }

    [Fact]
    public async Task Accounts_and_the_certificate_survive_a_restart_in_the_same_data_folder()
    {
        var folder = Directory.CreateTempSubdirectory("xft-server-").FullName;
        try
        {
            string fingerprint;
            await using (var first = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { DataDirectory = folder }))
            {
                fingerprint = first.Server.CertificateSha256;
            }

            await using var second = await EmbeddedXmppServer.StartAsync(ServerHarness.BaseOptions with { DataDirectory = folder }).WaitAsync(ServerHarness.Cap);
            Assert.Equal(fingerprint, second.CertificateSha256);
            Assert.Equal(["alice", "bob", "carol"], second.Accounts.Users);
            var json = await File.ReadAllTextAsync(Path.Combine(folder, "accounts.json"));
            Assert.DoesNotContain(ServerHarness.Password, json, StringComparison.Ordinal);
            Assert.Contains("storedKey", json, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
