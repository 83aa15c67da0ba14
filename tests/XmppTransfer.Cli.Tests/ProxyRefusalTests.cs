using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// <c>xft proxy</c> against a scripted XMPP server: a refusal retrying cannot fix ends it at start-up; after it was attached
/// it keeps trying; a server that just closes the connection is reported as that, not as malformed XML.
/// </summary>
public sealed class ProxyRefusalTests
{
    private const string Secret = "refusal-test-secret";

    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("", "host-unknown", "the server has no component of that name")]
    [InlineData("s1", "not-authorized", "check the secret")]
    public async Task Xft_proxy_refused_at_start_up_logs_the_refusal_as_an_error_and_exits_1(string id, string condition, string hint)
    {
        await using ScriptedXmppServer server = new();
        await using XftProcess xft = StartProxy(server.Port);

        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header(id));
        if (id.Length > 0)
        {
            Assert.Equal("handshake", (await server.ReadAsync())?.Name.LocalName);
        }

        await server.SendAsync($"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            + "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Refused by the test</text></stream:error></stream:stream>");

        Assert.Equal(1, await xft.WaitForExitAsync(s_cap));
        Assert.Contains(
            $"fail: XmppTransfer.Cli.Proxy.ProxyDaemon[4507] The XMPP server refused the component at start-up (not retrying, exit code 1): The server refused component proxy.refusal.test: {condition} - Refused by the test ({hint}).",
            xft.StandardError,
            StringComparison.Ordinal);
        Assert.DoesNotContain("has no id", xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Reconnecting", xft.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, xft.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xft_proxy_whose_server_closes_the_connection_says_so_and_after_being_attached_keeps_retrying_a_refusal()
    {
        await using ScriptedXmppServer server = new();
        await using XftProcess xft = StartProxy(server.Port);
        await AttachAsync(server, "s1");
        await xft.WaitForEventAsync("connected", s_cap);

        // The server goes away between stanzas without closing its stream (as Prosody does when it stops).
        server.EndConnection();
        await xft.WaitForEventAsync("disconnected", s_cap);
        await xft.WaitForStderrAsync("Connection to the XMPP server failed or ended: The peer closed the connection without closing its stream.", s_cap);
        Assert.DoesNotContain("not-well-formed", xft.StandardError, StringComparison.Ordinal);

        // Back, but refusing the secret: after a run that was accepted, that is retried (logged as an error), not fatal.
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header("s2"));
        Assert.Equal("handshake", (await server.ReadAsync())?.Name.LocalName);
        await server.SendAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
        await xft.WaitForStderrAsync("fail: XmppTransfer.Cli.Proxy.ProxyDaemon[4506] The XMPP server refused the component (retrying: it accepted the component before): The server refused component proxy.refusal.test: not-authorized (check the secret).", s_cap);
        await AttachAsync(server, "s3");
        await xft.WaitForEventAsync("connected", s_cap);

        await xft.TerminateAsync().WaitAsync(s_cap);
        await xft.WaitForEventAsync("stopped", s_cap);
        Assert.Equal(0, await xft.WaitForExitAsync(s_cap));
    }

    private static async Task AttachAsync(ScriptedXmppServer server, string id)
    {
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header(id));
        Assert.Equal("handshake", (await server.ReadAsync())?.Name.LocalName);
        await server.SendAsync("<handshake/>");
    }

    /// <summary>The server's component stream header (XEP-0114) with stream id <paramref name="id"/>.</summary>
    private static string Header(string id) =>
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='proxy.refusal.test' id='"
        + id + "'>";

    private static XftProcess StartProxy(int port) => XftProcess.Start(
        [
            "proxy", "--component-jid", "proxy.refusal.test", "--server", $"127.0.0.1:{port}",
            "--listen", "127.0.0.1:0", "--public-host", "127.0.0.1", "--json",
        ],
        new Dictionary<string, string> { ["XFT_COMPONENT_SECRET"] = Secret, ["XFT_Proxy__ReconnectMaxDelay"] = "1" });
}
