using XmppTransfer.Cli.Output;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>How xft names a server connection that ended under it, from what the session really saw on the wire.</summary>
public sealed class ConnectionLossTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_tcp_close_without_a_closing_tag_says_the_connection_was_dropped_not_that_the_server_closed_the_stream()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);

        server.EndConnection();

        var line = ConnectionLoss.Line(await LossAsync(client));
        Assert.Equal("lost the connection to the server: the connection was closed without the server closing the stream (dropped)", line);
    }

    [Fact]
    public async Task A_closing_tag_from_the_server_says_the_server_closed_the_stream()
    {
        await using var server = new ScriptedXmppServer();
        await using var client = await ConnectedAsync(server);

        await server.SendAsync("</stream:stream>");

        var line = ConnectionLoss.Line(await LossAsync(client));
        Assert.Equal("lost the connection to the server: the server closed the stream", line);
    }

    private static async Task<Exception> LossAsync(XmppClient client)
    {
        await Assert.ThrowsAnyAsync<XmppException>(() => client.Completion.WaitAsync(s_cap));
        return Assert.IsAssignableFrom<Exception>(ConnectionLoss.Reason(client));
    }

    private static async Task<XmppClient> ConnectedAsync(ScriptedXmppServer server)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Parse("alice@example.test"),
            Password = "s3cret",
            Host = "127.0.0.1",
            Port = server.Port,
            Tls = TlsMode.Off,
            AllowPlainWithoutTls = true,
        });
        var connect = client.ConnectAsync(TestContext.Current.CancellationToken);
        await server.AcceptLoginAsync().WaitAsync(s_cap);
        await connect.WaitAsync(s_cap);
        await server.ReadUntilAsync(e => e.Name == Stanza.Presence).WaitAsync(s_cap);
        return client;
    }
}
