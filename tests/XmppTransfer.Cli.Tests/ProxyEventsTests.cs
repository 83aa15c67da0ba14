using System.Text.Json;
using XmppTransfer.Cli.Proxy;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>The <c>--json</c> events of the proxy daemon go to the writer the host is given, not to the console.</summary>
public sealed class ProxyEventsTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    [Fact]
    public void With_json_each_event_is_one_json_line_on_the_given_writer()
    {
        using var output = new StringWriter();
        var events = new ProxyEvents(enabled: true, output);

        events.Write("connected", new { jid = "proxy.example.test", server = "127.0.0.1:5347" });
        events.Write("disconnected");

        Assert.Equal(
            """{"event":"connected","jid":"proxy.example.test","server":"127.0.0.1:5347"}""" + Environment.NewLine + """{"event":"disconnected"}""" + Environment.NewLine,
            output.ToString());
    }

    [Fact]
    public void Without_json_nothing_is_written()
    {
        using var output = new StringWriter();

        new ProxyEvents(enabled: false, output).Write("disconnected");

        Assert.Equal(string.Empty, output.ToString());
    }

    [Fact]
    public async Task A_host_run_in_process_writes_its_events_to_the_writer_it_is_given()
    {
        // The server refuses the component at start-up, so the host stops by itself after its first events.
        await using ScriptedXmppServer server = new();
        var settings = ProxyConfiguration.Load(
            new ProxyArguments
            {
                ComponentJid = "proxy.events.test",
                Server = "127.0.0.1:" + server.Port,
                Listen = ["127.0.0.1:0"],
                PublicHosts = ["127.0.0.1"],
                Json = true,
            },
            new Dictionary<string, string?> { [ProxyConfiguration.SecretVariable] = "events-test-secret", ["XFT_Logging__LogLevel__Default"] = "None" });
        using var output = new StringWriter();
        var running = ProxyHost.RunAsync(settings, verbose: false, output, TestContext.Current.CancellationToken);

        await server.AcceptAsync();
        await server.ReadHeaderAsync();
        await server.SendAsync("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='proxy.events.test' id=''>"
            + "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");

        Assert.False(await running.WaitAsync(s_cap));
        var names = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("event").GetString())
            .ToList();
        Assert.Equal(["listening", "stopped"], names);
    }
}
