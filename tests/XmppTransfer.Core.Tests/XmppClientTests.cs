using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Core.Tests;

public class XmppClientTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(15);
    private static readonly XName s_offer = XName.Get("offer", "urn:example:offer");

    [Fact]
    public async Task Client_logs_in_binds_and_announces_presence_with_caps()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = NewClient(server.Port);
        var connect = client.ConnectAsync();
        await server.AcceptLoginAsync("alice@example.test/laptop");
        await connect.WaitAsync(s_cap);

        Assert.Equal(Jid.Parse("alice@example.test/laptop"), client.BoundJid);
        var presence = await server.ReadUntilAsync(e => e.Name == Stanza.Presence);
        var caps = presence.Element(XName.Get("c", Namespaces.Caps));
        Assert.NotNull(caps);
        Assert.Equal(client.Disco.CapsVer, (string?)caps.Attribute("ver"));
    }

    [Fact]
    public async Task An_unhandled_iq_get_is_answered_with_service_unavailable()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        await server.SendAsync("<iq type='get' id='q1' from='bob@example.test/x'><nothing xmlns='urn:example:unknown'/></iq>");

        var reply = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "q1");
        Assert.Equal("error", (string?)reply.Attribute("type"));
        Assert.Equal("bob@example.test/x", (string?)reply.Attribute("to"));
        Assert.Equal("service-unavailable", StanzaError.Parse(reply).Condition);
    }

    [Fact]
    public async Task An_iq_without_an_answer_times_out_with_a_timeout_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var iq = Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping)));

        var ex = await Assert.ThrowsAsync<XmppException>(() => client.SendIqAsync(iq, TimeSpan.FromMilliseconds(200)).WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Timeout, ex.Kind);
    }

    [Fact]
    public async Task An_iq_error_answer_becomes_a_stanza_error_exception()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var request = client.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping))));
        var sent = await server.ReadUntilAsync(e => e.Name == Stanza.Iq);
        await server.SendAsync($"<iq type='error' id='{(string?)sent.Attribute("id")}' from='bob@example.test/x'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");

        var ex = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => request.WaitAsync(s_cap));
        Assert.Equal("item-not-found", ex.Error.Condition);
    }

    [Fact]
    public async Task An_answer_read_before_a_presence_has_completed_its_request_when_the_presence_is_handled()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var request = client.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping))));
        var seen = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.PresenceReceived += _ => seen.TrySetResult(request.IsCompleted);
        var sent = await server.ReadUntilAsync(e => e.Name == Stanza.Iq);

        // One write: the client reads both at once, and a caller woken by the presence (a peer that answered, then left)
        // must find the answer already there.
        await server.SendAsync($"<iq type='result' id='{(string?)sent.Attribute("id")}' from='bob@example.test/x'/><presence from='bob@example.test/x' type='unavailable'/>");

        Assert.True(await seen.Task.WaitAsync(s_cap));
        Assert.True(request.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task An_iq_with_an_impossible_timeout_fails_and_leaves_its_id_free_for_the_next_request()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        XElement Ping() => Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping)), "fixed-id");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SendIqAsync(Ping(), TimeSpan.FromDays(100)).WaitAsync(s_cap));

        var request = client.SendIqAsync(Ping());
        await server.ReadUntilAsync(e => e.Name == Stanza.Iq);
        await server.SendAsync("<iq type='result' id='fixed-id' from='bob@example.test/x'/>");
        Assert.Equal("result", (string?)(await request.WaitAsync(s_cap)).Attribute("type"));
    }

    [Fact]
    public async Task An_iq_sent_with_a_cancelled_token_is_cancelled_and_leaves_its_id_free()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        XElement Ping() => Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping)), "again");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendIqAsync(Ping(), cancellationToken: cancelled.Token).WaitAsync(s_cap));

        var request = client.SendIqAsync(Ping());
        await server.ReadUntilAsync(e => e.Name == Stanza.Iq);
        await server.SendAsync("<iq type='result' id='again' from='bob@example.test/x'/>");
        Assert.Equal("result", (string?)(await request.WaitAsync(s_cap)).Attribute("type"));
    }

    [Fact]
    public async Task A_spoofed_answer_from_another_address_is_ignored()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var request = client.SendIqAsync(
            Stanza.MakeIq(IqType.Get, Jid.Parse("bob@example.test/x"), new XElement(XName.Get("ping", Namespaces.Ping))),
            TimeSpan.FromSeconds(10));
        var sent = await server.ReadUntilAsync(e => e.Name == Stanza.Iq);
        var id = (string?)sent.Attribute("id");
        await server.SendAsync($"<iq type='result' id='{id}' from='mallory@example.test/x'/>");
        await server.SendAsync($"<iq type='result' id='{id}' from='bob@example.test/x'/>");

        var answer = await request.WaitAsync(s_cap);
        Assert.Equal("bob@example.test/x", (string?)answer.Attribute("from"));
    }

    [Fact]
    public async Task A_registered_handler_answers_with_its_payload_or_its_stanza_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var echo = XName.Get("echo", "urn:example:echo");
        client.RegisterIqHandler(echo, IqType.Get, (iq, _) =>
            (string?)iq.Attribute("id") == "bad"
                ? throw new XmppStanzaErrorException(StanzaError.NotAcceptable("no"))
                : ValueTask.FromResult<XElement?>(new XElement(echo, "pong")));

        await server.SendAsync("<iq type='get' id='good' from='bob@example.test/x'><echo xmlns='urn:example:echo'/></iq>");
        var good = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "good");
        Assert.Equal("pong", good.Element(echo)?.Value);

        await server.SendAsync("<iq type='get' id='bad' from='bob@example.test/x'><echo xmlns='urn:example:echo'/></iq>");
        var bad = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "bad");
        Assert.Equal("not-acceptable", StanzaError.Parse(bad).Condition);
    }

    [Fact]
    public async Task An_answer_given_while_the_client_closes_still_reaches_the_peer_before_the_stream_ends()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var offer = XName.Get("offer", "urn:example:offer");
        var answer = new TaskCompletionSource<XElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RegisterIqHandler(offer, IqType.Set, (_, _) =>
        {
            asked.TrySetResult();
            return new ValueTask<XElement?>(answer.Task);
        });
        await server.SendAsync("<iq type='set' id='o1' from='bob@example.test/x'><offer xmlns='urn:example:offer'/></iq>");
        await asked.Task.WaitAsync(s_cap);
        // The read loop handles one stanza after another: once the next request is answered, the offer's handler has returned.
        await server.SendAsync("<iq type='get' id='b1' from='bob@example.test/x'><nothing xmlns='urn:example:unknown'/></iq>");
        await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "b1").WaitAsync(s_cap);

        // The program declines and exits at once: the close starts before the handler's answer is on its way.
        var closing = client.DisposeAsync().AsTask();
        answer.SetException(new XmppStanzaErrorException(StanzaError.Forbidden("Offer Declined")));

        var reply = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "o1").WaitAsync(s_cap);
        Assert.Equal("forbidden", StanzaError.Parse(reply).Condition);
        await closing.WaitAsync(s_cap);
    }

    [Fact]
    public async Task An_answer_decided_before_the_close_reaches_the_peer_even_when_the_thread_pool_has_not_sent_it_yet()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        // The continuation that sends a late handler's answer waits as on a busy thread pool: the close must not count on it.
        var held = client.HoldAnswers();
        var answer = new TaskCompletionSource<XElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RegisterIqHandler(s_offer, IqType.Set, (_, _) => new ValueTask<XElement?>(answer.Task));
        await server.SendAsync("<iq type='set' id='o1' from='bob@example.test/x'><offer xmlns='urn:example:offer'/></iq>");
        await HandlersHaveReturnedAsync(server);

        // The program declines and exits at once.
        answer.SetException(new XmppStanzaErrorException(StanzaError.Forbidden("Offer Declined")));
        Assert.Equal(1, held.HeldCount);
        await client.DisposeAsync().AsTask().WaitAsync(s_cap);

        var reply = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "o1").WaitAsync(s_cap);
        Assert.Equal("forbidden", StanzaError.Parse(reply).Condition);
        Assert.Null(await server.ReadAsync().WaitAsync(s_cap));

        // The continuation, run at last, finds the answer sent and sends nothing more (the stream is closed anyway).
        held.Release();
    }

    [Fact]
    public async Task A_handler_still_waiting_when_the_client_closes_is_left_unanswered_and_does_not_hold_the_close()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        var never = new TaskCompletionSource<XElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RegisterIqHandler(s_offer, IqType.Set, (_, _) => new ValueTask<XElement?>(never.Task));
        await server.SendAsync("<iq type='set' id='o1' from='bob@example.test/x'><offer xmlns='urn:example:offer'/></iq>");
        await HandlersHaveReturnedAsync(server);

        await client.DisposeAsync().AsTask().WaitAsync(s_cap);

        // RFC 6120 leaves a request open when the stream closes: no answer, just our closing tag.
        Assert.Null(await server.ReadAsync().WaitAsync(s_cap));
    }

    [Fact]
    public async Task Disco_info_lists_our_identity_and_features_and_unknown_nodes_are_item_not_found()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        client.Disco.AddFeature("urn:example:feature");
        await server.SendAsync("<iq type='get' id='d1' from='bob@example.test/x'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var info = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "d1");
        var query = info.Element(XName.Get("query", Namespaces.DiscoInfo))!;
        Assert.Contains(query.Elements(), e => (string?)e.Attribute("category") == "client");
        Assert.Contains(query.Elements(), e => (string?)e.Attribute("var") == "urn:example:feature");

        await server.SendAsync("<iq type='get' id='d2' from='bob@example.test/x'><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>");
        var missing = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "d2");
        Assert.Equal("item-not-found", StanzaError.Parse(missing).Condition);

        var capsNode = client.Disco.CapsNode + "#" + client.Disco.CapsVer;
        await server.SendAsync($"<iq type='get' id='d3' from='bob@example.test/x'><query xmlns='http://jabber.org/protocol/disco#info' node='{capsNode}'/></iq>");
        var caps = await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "d3");
        Assert.Equal("result", (string?)caps.Attribute("type"));
    }

    [Fact]
    public async Task A_stream_error_from_the_server_ends_the_session_with_that_condition()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        await server.SendAsync("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => client.Completion.WaitAsync(s_cap));
        Assert.Equal("conflict", ex.Condition);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Malformed_xml_from_the_server_closes_the_stream_with_our_stream_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);
        await server.SendAsync("<message><body>&bomb;</body></message>");

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => client.Completion.WaitAsync(s_cap));
        Assert.True(ex.SentByUs);
        var error = await server.ReadUntilAsync(e => e.Name == StreamError.Name);
        Assert.Equal("not-well-formed", StreamError.Parse(error).Condition);
    }

    [Fact]
    public async Task A_server_that_closes_the_connection_between_stanzas_ends_the_session_as_closed_and_gets_no_stream_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);

        server.EndConnection();

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => client.Completion.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Closed, ex.Kind);
        Assert.Equal("The peer closed the connection without closing its stream.", ex.Message);
        // Our side closes its stream plainly: no not-well-formed (or any other) stream error for a peer that just left.
        Assert.Null(await server.ReadAsync());
    }

    [Fact]
    public async Task A_system_shutdown_stream_error_followed_by_the_connection_closing_is_reported_by_its_name()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);

        await server.SendAsync("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
        server.EndConnection();

        var ex = await Assert.ThrowsAsync<XmppStreamErrorException>(() => client.Completion.WaitAsync(s_cap));
        Assert.Equal("system-shutdown", ex.Condition);
        Assert.False(ex.SentByUs);
        Assert.Null(await server.ReadAsync());
    }

    [Fact]
    public async Task A_doctype_during_login_fails_connect_with_a_clear_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = NewClient(server.Port);
        var connect = client.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaa'>]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x'>");

        var ex = await Assert.ThrowsAnyAsync<XmppException>(() => connect.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.StreamError, ex.Kind);
    }

    [Fact]
    public async Task A_server_that_never_finishes_login_hits_the_negotiation_timeout()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = new XmppClient(Options(server.Port) with { NegotiationTimeout = TimeSpan.FromMilliseconds(300) });
        var connect = client.ConnectAsync();
        await server.AcceptAsync();

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Timeout, ex.Kind);
    }

    [Fact]
    public async Task Plain_is_refused_without_tls_unless_allowed()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = new XmppClient(Options(server.Port) with { AllowPlainWithoutTls = false });
        var connect = client.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendHeaderAsync();
        await server.SendAsync("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Authentication, ex.Kind);
    }

    [Fact]
    public async Task Tls_required_fails_when_the_server_offers_no_starttls()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = new XmppClient(Options(server.Port) with { Tls = TlsMode.Required });
        var connect = client.ConnectAsync();
        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendHeaderAsync();
        await server.SendAsync("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");

        var ex = await Assert.ThrowsAsync<XmppConnectionException>(() => connect.WaitAsync(s_cap));
        Assert.Equal(XmppErrorKind.Tls, ex.Kind);
        Assert.Contains("STARTTLS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_never_print_the_password() =>
        Assert.DoesNotContain("s3cret", Options(1).ToString(), StringComparison.Ordinal);

    private static XmppClientOptions Options(int port) => new()
    {
        Jid = Jid.Parse("alice@example.test"),
        Password = "s3cret",
        Host = "127.0.0.1",
        Port = port,
        Tls = TlsMode.Off,
        AllowPlainWithoutTls = true,
    };

    /// <summary>The read loop handles one stanza after another: once the next request is answered, earlier handlers have returned.</summary>
    private static async Task HandlersHaveReturnedAsync(ScriptedXmppServer server)
    {
        await server.SendAsync("<iq type='get' id='b1' from='bob@example.test/x'><nothing xmlns='urn:example:unknown'/></iq>");
        await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "b1").WaitAsync(s_cap);
    }

    private static XmppClient NewClient(int port) => new(Options(port));

    private static async Task<XmppClient> ConnectedAsync(ScriptedXmppServer server)
    {
        var client = NewClient(server.Port);
        var connect = client.ConnectAsync();
        await server.AcceptLoginAsync();
        await connect.WaitAsync(s_cap);
        await server.ReadUntilAsync(e => e.Name == Stanza.Presence);
        return client;
    }
}
