using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Testing;

namespace XmppTransfer.Server.Tests;

/// <summary>
/// Seeded random stanzas from a logged-in client, with addresses, types and payloads where routing decides on them: the
/// server answers or drops each, ends a session only with a stream error of its rules (never internal-server-error), logs
/// no failure of its own, and keeps serving the others.
/// </summary>
public sealed class HostileStanzaFuzzTests
{
    private static readonly string[] s_names = ["iq", "message", "presence"];
    private static readonly string?[] s_types = [null, "get", "set", "result", "error", "chat", "groupchat", "headline", "normal", "probe", "subscribe", "unavailable", "bogus", ""];
    private static readonly string?[] s_addresses =
    [
        null, "", "example.test", "example.test.", "EXAMPLE.TEST", "bob@example.test", "bob@example.test/desk", "nobody@example.test",
        "nobody@example.test/x", "alice@example.test", "comp.example.test", "proxy.example.test", "elsewhere.test", "@example.test",
        "bob@", "/r", "a@b@c", "[::1]", "[zz]", "bob@example.test/" + new string('r', 1100), new string('\u023A', 400) + "@example.test",
        "\u0130\u0301@example.test/\u212B", "x@" + new string('d', 64) + ".test", "bob@example.test/\u00A0",
    ];

    private static readonly XName[] s_payloads =
    [
        XName.Get("ping", Namespaces.Ping), XName.Get("query", Namespaces.DiscoInfo), XName.Get("query", Namespaces.DiscoItems),
        XName.Get("query", Namespaces.Roster), XName.Get("session", Namespaces.Session), XName.Get("si", Namespaces.Si),
        XName.Get("open", Namespaces.Ibb), XName.Get("query", Namespaces.Bytestreams), XName.Get("body", Namespaces.Client),
        XName.Get("priority", Namespaces.Client), XName.Get("bind", Namespaces.Bind),
    ];

    [Fact]
    public async Task Seeded_random_stanzas_from_a_user_end_in_answers_or_rule_stream_errors_and_never_in_a_server_failure()
    {
        var log = new RecordingLoggerFactory();
        await using var harness = await ServerHarness.StartAsync(ServerHarness.BaseOptions with { LoggerFactory = log });
        var bob = await harness.ConnectAsync("bob", "desk");
        var random = new Random(1414);
        var alice = await harness.ConnectAsync("alice");
        var endings = new List<string>();

        for (var i = 0; i < 400; i++)
        {
            if (!alice.IsConnected)
            {
                var ex = await Record.ExceptionAsync(() => alice.Completion.WaitAsync(ServerHarness.Cap));
                endings.Add(ex is XmppStreamErrorException streamError ? streamError.Condition : ex?.GetType().Name ?? "closed");
                alice = await harness.ConnectAsync("alice");
            }

            var stanza = new XElement(XName.Get(s_names[random.Next(s_names.Length)], Namespaces.Client));
            Set(stanza, "type", s_types[random.Next(s_types.Length)]);
            Set(stanza, "to", s_addresses[random.Next(s_addresses.Length)]);
            Set(stanza, "id", random.Next(4) == 0 ? null : "f" + i);
            for (var n = random.Next(3); n > 0; n--)
            {
                var payload = new XElement(s_payloads[random.Next(s_payloads.Length)]);
                Set(payload, "node", random.Next(4) == 0 ? "n" : null);
                payload.Add(random.Next(3) == 0 ? random.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
                stanza.Add(payload);
            }

            try
            {
                await alice.SendAsync(stanza).AsTask().WaitAsync(ServerHarness.Cap);
            }
            catch (XmppException)
            {
                // The server ended the session for an earlier stanza: the next round logs in again.
            }
        }

        // A ping both ways: everything sent before it has been routed, unless a stanza ended the session first.
        try
        {
            await alice.SendIqAsync(Stanza.MakeIq(IqType.Get, Jid.Parse(ServerHarness.Domain), new XElement(XName.Get("ping", Namespaces.Ping)))).WaitAsync(ServerHarness.Cap);
        }
        catch (XmppException)
        {
            var ex = await Record.ExceptionAsync(() => alice.Completion.WaitAsync(ServerHarness.Cap));
            endings.Add(ex is XmppStreamErrorException streamError ? streamError.Condition : ex?.GetType().Name ?? "closed");
        }

        var carol = await harness.ConnectAsync("carol");
        Assert.True(carol.IsConnected);
        Assert.True(bob.IsConnected);
        Assert.DoesNotContain("internal-server-error", endings);
        Assert.Equal([], log.Events.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Id}: {e.Message}"));
    }

    private static void Set(XElement element, string name, string? value)
    {
        if (value is not null)
        {
            element.SetAttributeValue(name, value);
        }
    }
}
