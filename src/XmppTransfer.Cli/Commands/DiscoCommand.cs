using System.CommandLine;
using System.Text.Json;
using XmppTransfer.Cli.Connection;
using XmppTransfer.Cli.Output;
using XmppTransfer.Core;

namespace XmppTransfer.Cli.Commands;

/// <summary><c>xft disco [JID] [--node N]</c>: identities, features and items of an entity (XEP-0030).</summary>
internal static class DiscoCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var target = new Argument<string?>("JID") { Description = "Who to ask (default: your server's domain).", Arity = ArgumentArity.ZeroOrOne };
        var node = new Option<string?>("--node") { Description = "Ask about this node of the entity.", HelpName = "NODE" };
        var command = new Command("disco", "Show what an XMPP entity offers: identities, features and items (service discovery).") { target, node };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var verbose = parse.GetValue(connection.Verbose);
            return CommandRunner.RunAsync(verbose, async () =>
            {
                using var logging = CliLogging.Create(verbose, XftEnvironment.Current());
                var options = connection.Build(parse, logging);
                var jidText = parse.GetValue(target);
                Jid jid;
                if (jidText is null)
                {
                    jid = Jid.Parse(options.Jid.Domain);
                }
                else if (!Jid.TryParse(jidText, out jid!))
                {
                    throw new UsageException($"'{jidText}' is not a valid JID.");
                }

                await using var client = new XmppClient(options with { SendInitialPresence = false });
                await client.ConnectAsync(cancellationToken);
                var nodeName = parse.GetValue(node);
                Core.Disco.DiscoInfo info;
                try
                {
                    info = await client.Disco.GetInfoAsync(jid, nodeName, cancellationToken);
                }
                catch (XmppStanzaErrorException ex) when (!jid.IsBare && IsOffline(ex.Error.Condition))
                {
                    // Said as xft send says it: a full JID whose server answers for it is a client that is not connected.
                    await Console.Error.WriteLineAsync($"xft: {jid} is not online ({ex.Error.Condition}).");
                    return ExitCodes.Failed;
                }

                var items = await TryGetItemsAsync(client, jid, nodeName, cancellationToken);
                if (parse.GetValue(connection.Json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        jid = jid.ToString(),
                        node = nodeName,
                        identities = info.Identities.Select(i => new { category = i.Category, type = i.Type, name = i.Name }),
                        features = info.Features,
                        items = items.Select(i => new { jid = i.Jid.ToString(), node = i.Node, name = i.Name }),
                    }));
                    return ExitCodes.Ok;
                }

                Console.WriteLine(jid + (nodeName is null ? string.Empty : " node " + nodeName));
                Console.WriteLine("Identities:");
                foreach (var identity in info.Identities)
                {
                    Console.WriteLine($"  {identity.Category}/{identity.Type}{(identity.Name is null ? string.Empty : "  " + identity.Name)}");
                }

                Console.WriteLine("Features:");
                foreach (var feature in info.Features)
                {
                    Console.WriteLine("  " + feature);
                }

                Console.WriteLine("Items:");
                foreach (var item in items)
                {
                    Console.WriteLine($"  {item.Jid}{(item.Node is null ? string.Empty : " node " + item.Node)}{(item.Name is null ? string.Empty : "  " + item.Name)}");
                }

                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// The conditions a server answers for a full JID with no such session (RFC 6120 §8.5.3.2.1 and §10.5.4): the words of
    /// the disco#info check before <c>xft send</c>'s offer.
    /// </summary>
    private static bool IsOffline(string condition) => condition is "service-unavailable" or "recipient-unavailable" or "item-not-found";

    private static async Task<IReadOnlyList<Core.Disco.DiscoItem>> TryGetItemsAsync(XmppClient client, Jid jid, string? node, CancellationToken cancellationToken)
    {
        try
        {
            return await client.Disco.GetItemsAsync(jid, node, cancellationToken);
        }
        catch (XmppStanzaErrorException)
        {
            // Many entities (clients, components) answer items with an error; that is "no items".
            return [];
        }
    }
}
