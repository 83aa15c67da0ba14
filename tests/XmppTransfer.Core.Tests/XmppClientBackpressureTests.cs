using System.Xml.Linq;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Core.Tests;

/// <summary>A server that stops reading: the client's sends wait for room instead of buffering without limit.</summary>
public class XmppClientBackpressureTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    // Bounds the data a test pushes before the socket buffers and the small queue are full (a few MiB in practice).
    private const int MaxMessages = 8192;

    private static int s_next;

    [Fact]
    public async Task A_send_waits_while_the_server_does_not_read_and_the_wait_can_be_cancelled()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server, TimeSpan.FromSeconds(30));

        // The kernel may still take a little more (its buffers grow), so a wait can end on its own: try again.
        for (var attempt = 0; attempt < 64; attempt++)
        {
            using var cts = new CancellationTokenSource();
            var waiting = await SendUntilOneWaitsAsync(client, cts.Token);
            await cts.CancelAsync();
            try
            {
                await waiting.WaitAsync(s_cap);
            }
            catch (OperationCanceledException ex)
            {
                Assert.Equal(cts.Token, ex.CancellationToken);
                Assert.True(client.IsConnected);
                return;
            }
        }

        Assert.Fail("No send was still waiting when it was cancelled.");
    }

    [Fact]
    public async Task A_waiting_send_goes_out_once_the_server_reads_again()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server, TimeSpan.FromSeconds(30));

        var waiting = await SendUntilOneWaitsAsync(client, CancellationToken.None);
        var last = client.SendAsync(Message("last")).AsTask();
        await server.ReadUntilAsync(e => (string?)e.Attribute("id") == "last");

        await Task.WhenAll(waiting, last).WaitAsync(s_cap);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task A_send_that_finds_no_room_within_the_outgoing_queue_timeout_fails_with_a_timeout_error()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server, TimeSpan.FromMilliseconds(300));

        // Each waiting send that still finds room means the kernel took more; keep pushing until it takes nothing. Bounded
        // by bytes (SendUntilOneWaitsAsync stops at MaxMessages) and by attempts, not by a guess at the buffer sizes.
        for (var attempt = 0; attempt < 4096; attempt++)
        {
            var waiting = await SendUntilOneWaitsAsync(client, CancellationToken.None);
            try
            {
                await waiting.WaitAsync(s_cap);
            }
            catch (XmppException ex)
            {
                Assert.Equal(XmppErrorKind.Timeout, ex.Kind);
                Assert.True(client.IsConnected);
                return;
            }
        }

        Assert.Fail("Every waiting send found room although the server read nothing.");
    }

    /// <summary>Sends 4 KiB messages until one does not complete at once; returns that one's task.</summary>
    private static async Task<Task> SendUntilOneWaitsAsync(XmppClient client, CancellationToken cancellationToken)
    {
        for (var i = 0; i < MaxMessages; i++)
        {
            var send = client.SendAsync(Message("m" + Interlocked.Increment(ref s_next)), cancellationToken);
            if (!send.IsCompleted)
            {
                return send.AsTask();
            }

            await send;
        }

        Assert.Fail($"{MaxMessages} messages of 4 KiB went out although the server read none of them.");
        return Task.CompletedTask;
    }

    private static XElement Message(string id) => new(
        Stanza.Message,
        new XAttribute("to", "bob@example.test/x"),
        new XAttribute("id", id),
        new XElement(XName.Get("body", Namespaces.Client), new string('x', 4096)));

    private static async Task<XmppClient> ConnectedAsync(ScriptedXmppServer server, TimeSpan outgoingQueueTimeout)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Parse("alice@example.test"),
            Password = "s3cret",
            Host = "127.0.0.1",
            Port = server.Port,
            Tls = TlsMode.Off,
            AllowPlainWithoutTls = true,
            MaxOutgoingQueueBytes = 16 * 1024,
            OutgoingQueueTimeout = outgoingQueueTimeout,
        });
        var connect = client.ConnectAsync();
        await server.AcceptLoginAsync();
        await connect.WaitAsync(s_cap);
        await server.ReadUntilAsync(e => e.Name == Stanza.Presence);
        return client;
    }
}
