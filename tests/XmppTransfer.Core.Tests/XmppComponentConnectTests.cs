using XmppTransfer.Core.Component;
using XmppTransfer.Testing;

namespace XmppTransfer.Core.Tests;

/// <summary>How <see cref="XmppComponent.ConnectAsync"/> reports a server that refuses the component (XEP-0114).</summary>
public class XmppComponentConnectTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_header_with_an_empty_id_followed_by_host_unknown_is_reported_as_that_refusal()
    {
        // What Prosody 0.12 sends for a component name it does not know.
        await using var server = new ScriptedXmppServer();
        await using var component = NewComponent(server.Port);
        var connect = component.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header(string.Empty)
            + "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            + "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>This server does not serve proxy.example.test</text></stream:error></stream:stream>");

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.Equal(
            "The server refused component proxy.example.test: host-unknown - This server does not serve proxy.example.test (the server has no component of that name).",
            ex.Message);
        var error = Assert.IsType<XmppStreamErrorException>(ex.InnerException);
        Assert.Equal("host-unknown", error.Condition);
        Assert.False(error.SentByUs);
    }

    [Fact]
    public async Task A_header_with_an_empty_id_and_no_stream_error_is_still_a_protocol_violation()
    {
        await using var server = new ScriptedXmppServer();
        await using var component = NewComponent(server.Port);
        var connect = component.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header(string.Empty) + "</stream:stream>");

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.ProtocolViolation, ex.Kind);
        Assert.Equal("The server's component stream header has no id.", ex.Message);
    }

    [Fact]
    public async Task A_header_with_an_empty_id_and_then_silence_fails_after_the_short_grace_not_the_handshake_timeout()
    {
        await using var server = new ScriptedXmppServer();
        await using var component = NewComponent(server.Port, handshakeTimeout: TimeSpan.FromMinutes(10));
        var connect = component.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header(string.Empty));

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.ProtocolViolation, ex.Kind);
        Assert.Equal(
            $"The server's component stream header has no id, and no stream error followed within 1 s: no handshake is possible (is 127.0.0.1:{server.Port} a component port that serves proxy.example.test?).",
            ex.Message);
    }

    [Fact]
    public async Task A_wrong_secret_is_reported_as_not_authorized_with_the_condition_kept_for_the_caller()
    {
        await using var server = new ScriptedXmppServer();
        await using var component = NewComponent(server.Port);
        var connect = component.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync(Header("s1"));
        Assert.Equal("handshake", (await server.ReadAsync())?.Name.LocalName);
        await server.SendAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));

        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
        Assert.Equal("The server refused component proxy.example.test: not-authorized (check the secret).", ex.Message);
        Assert.Equal("not-authorized", Assert.IsType<XmppStreamErrorException>(ex.InnerException).Condition);
        Assert.DoesNotContain("component-test-secret", ex.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The server's component stream header with stream id <paramref name="id"/>.</summary>
    private static string Header(string id) =>
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='proxy.example.test' id='"
        + id + "'>";

    private static XmppComponent NewComponent(int port, TimeSpan? handshakeTimeout = null) => new(new XmppComponentOptions
    {
        Jid = Jid.Parse("proxy.example.test"),
        Secret = "component-test-secret",
        Host = "127.0.0.1",
        Port = port,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(15),
    });
}
