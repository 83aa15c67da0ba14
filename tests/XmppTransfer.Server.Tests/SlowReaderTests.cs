using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Server.Tests;

/// <summary>A session that stops reading its socket must not make the server buffer without limit or stall others.</summary>
public sealed class SlowReaderTests
{
    // Bounds what the test sends before the server refuses (4 KiB each: at most 16 MiB, a few hundred KiB in practice).
    private const int MaxMessages = 4096;

    // Bounds the round trips while waiting for the close (each well under a millisecond; the timeout is 1 s).
    private const int MaxRoundTrips = 100_000;

    [Fact]
    public async Task A_client_that_stops_reading_is_bounced_then_closed_with_policy_violation_while_others_keep_talking()
    {
        var notReading = new LogEventWatcher(5015);
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with
        {
            MaxOutgoingQueueBytes = 64 * 1024,
            OutgoingQueueTimeout = TimeSpan.FromSeconds(1),
            LoggerFactory = notReading,
        });
        var alice = await harness.ConnectAsync("alice", "desk");
        var bob = await harness.ConnectAsync("bob", "desk");
        await using var carol = await RawTlsSession.LoginAsync(harness, "carol", "slow");
        var carolJid = Jid.Parse("carol@example.test/slow");
        var bounced = new TaskCompletionSource<StanzaError>(TaskCreationOptions.RunContinuationsAsynchronously);
        alice.MessageReceived += m =>
        {
            if ((string?)m.Attribute("type") == "error" && Stanza.GetFrom(m) == carolJid)
            {
                bounced.TrySetResult(StanzaError.Parse(m));
            }
        };

        // Carol reads nothing from here on. Alice sends until the server refuses, pacing herself with pings to the
        // server so the refusal is seen before much more is sent.
        for (var i = 0; !bounced.Task.IsCompleted; i++)
        {
            Assert.True(i < MaxMessages, "The server kept taking stanzas for a client that reads nothing.");
            await alice.SendAsync(Message(carolJid, "m" + i)).AsTask().WaitAsync(ServerHarness.Cap);
            if (i % 16 == 15)
            {
                await alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("ping", Namespaces.Ping))))
                    .WaitAsync(ServerHarness.Cap);
            }
        }

        var error = await bounced.Task.WaitAsync(ServerHarness.Cap);
        Assert.Equal("resource-constraint", error.Condition);

        // Carol's full queue holds up neither the sender's session nor anyone else.
        var disco = Stanza.MakeIq(IqType.Get, bob.BoundJid, new XElement(XName.Get("query", Namespaces.DiscoInfo)));
        var answer = await alice.SendIqAsync(disco).WaitAsync(ServerHarness.Cap);
        Assert.Equal(bob.BoundJid, Stanza.GetFrom(answer));

        // Stanzas keep coming for carol (small ones now, each after a round trip to the server) and nothing can be
        // written to her: once her queue has been full for the timeout, the server gives up on her (logged), and what
        // she finally reads ends with the stream error, because the queued stanzas were discarded so that it came next.
        for (var i = 0; !notReading.Seen.IsCompleted; i++)
        {
            Assert.True(i < MaxRoundTrips, "The server did not close a client that has read nothing for a long time.");
            await alice.SendAsync(Message(carolJid, "s" + i, bodyLength: 16)).AsTask().WaitAsync(ServerHarness.Cap);
            await alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("ping", Namespaces.Ping))))
                .WaitAsync(ServerHarness.Cap);
        }

        var logged = await notReading.Seen.WaitAsync(ServerHarness.Cap);
        Assert.Contains("carol@example.test/slow", logged, StringComparison.Ordinal);
        var rest = await carol.ReadToEndAsync(ServerHarness.Cap);
        Assert.Contains("<policy-violation", rest, StringComparison.Ordinal);

        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.MessageReceived += m =>
        {
            if ((string?)m.Attribute("id") == "after")
            {
                received.TrySetResult();
            }
        };
        await alice.SendAsync(Message(bob.BoundJid, "after")).AsTask().WaitAsync(ServerHarness.Cap);
        await received.Task.WaitAsync(ServerHarness.Cap);
        Assert.True(alice.IsConnected);
        Assert.True(bob.IsConnected);
    }

    private static XElement Message(Jid to, string id, int bodyLength = 4096) => new(
        Stanza.Message,
        new XAttribute("to", to.ToString()),
        new XAttribute("id", id),
        new XAttribute("type", "chat"),
        new XElement(XName.Get("body", Namespaces.Client), new string('x', bodyLength)));
}
