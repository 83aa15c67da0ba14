using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Testing;

/// <summary>
/// A tiny in-process XMPP router for component tests: plaintext, PLAIN with any password, one
/// domain, stanzas routed to full JIDs with <c>from</c> stamped, presence broadcast to everyone,
/// server IQs answered with an empty result (ping) or service-unavailable. Hooks let a test drop
/// or rewrite stanzas in flight. Not a server: the embedded server is the real one.
/// </summary>
public sealed class LoopbackRouter : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, XmppTransport> _clients = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private Task? _acceptLoop;
    private int _next;

    public LoopbackRouter(string domain = "example.test")
    {
        Domain = domain;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public string Domain { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Called for every routed stanza; return null to drop it.</summary>
    public Func<XElement, XElement?>? Intercept { get; set; }

    /// <summary>
    /// Queues stanzas for <paramref name="to"/> back to back, as a server that has them ready at once writes them (so the
    /// client reads them in one go); false when it is not connected.
    /// </summary>
    public bool Deliver(Jid to, params XElement[] stanzas)
    {
        if (!_clients.TryGetValue(to.ToString(), out var target))
        {
            return false;
        }

        foreach (var stanza in stanzas)
        {
            _ = target.TryEnqueue(stanza);
        }

        return true;
    }

    /// <summary>Options for a client of this router (TLS off, PLAIN allowed).</summary>
    public XmppClientOptions ClientOptions(string user, string? resource = null) => new()
    {
        Jid = Jid.Create(user, Domain, resource),
        Password = "secret",
        Host = "127.0.0.1",
        Port = Port,
        Tls = TlsMode.Off,
        AllowPlainWithoutTls = true,
    };

    /// <summary>Connects a client for <paramref name="user"/>.</summary>
    public async Task<XmppClient> ConnectAsync(string user, Action<XmppClient>? beforeConnect = null, XmppClientOptions? options = null)
    {
        var client = new XmppClient(options ?? ClientOptions(user));
        beforeConnect?.Invoke(client);
        await client.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(15));
        return client;
    }

    /// <summary>
    /// Drops the TCP connection of <paramref name="fullJid"/> at once, as when its process is killed. With
    /// <paramref name="announce"/> everyone else then gets its unavailable presence, as from a server whose users share
    /// presence; without, nobody hears of it (no shared presence).
    /// </summary>
    public async Task DisconnectAsync(Jid fullJid, bool announce = true)
    {
        if (_clients.TryRemove(fullJid.ToString(), out var transport))
        {
            await transport.DisposeAsync();
            if (announce)
            {
                foreach (var other in _clients.Values)
                {
                    _ = other.TryEnqueue(new XElement(Stanza.Presence, new XAttribute("from", fullJid.ToString()), new XAttribute("type", "unavailable")));
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var transport in _clients.Values)
        {
            await transport.DisposeAsync();
        }

        if (_acceptLoop is not null)
        {
            await _acceptLoop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Task[] tasks;
        lock (_tasks)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(10));
        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            lock (_tasks)
            {
                _tasks.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        // A generous queue: this router drops what does not fit, and transfer tests should fail on their own terms.
        var transport = new XmppTransport(socket, new XmlLimits { MaxStanzaBytes = 1024 * 1024 }, 64 * 1024 * 1024);
        string? jid = null;
        try
        {
            var token = _stop.Token;
            transport.RestartReader();
            await transport.Reader.ReadHeaderAsync(token);
            await transport.SendHeaderAsync(Namespaces.Client, null, Domain, "r1", token);
            await transport.SendDirectAsync(XElement.Parse("<features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></features>"), token);
            var auth = await transport.Reader.ReadElementAsync(token) ?? throw new IOException("closed");
            var user = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Value)).Split('\0')[1];
            await transport.SendDirectAsync(new XElement(XName.Get("success", Namespaces.Sasl)), token);
            transport.RestartReader();
            await transport.Reader.ReadHeaderAsync(token);
            await transport.SendHeaderAsync(Namespaces.Client, null, Domain, "r2", token);
            await transport.SendDirectAsync(XElement.Parse("<features xmlns='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></features>"), token);
            var bind = await transport.Reader.ReadElementAsync(token) ?? throw new IOException("closed");
            var resource = bind.Descendants(XName.Get("resource", Namespaces.Bind)).FirstOrDefault()?.Value ?? "r" + Interlocked.Increment(ref _next);
            jid = Jid.Create(user, Domain, resource).ToString();

            // Routable before the client hears it is bound: its ConnectAsync returns on the bind result, and a test that
            // sends to it at once must not race this task. What others send meanwhile waits in the queue until the writer
            // starts, after the bind result.
            _clients[jid] = transport;
            await transport.SendDirectAsync(
                Stanza.MakeResult(bind, new XElement(XName.Get("bind", Namespaces.Bind), new XElement(XName.Get("jid", Namespaces.Bind), jid))),
                token);
            transport.StartWriter();
            while (await transport.Reader.ReadElementAsync(token) is { } stanza)
            {
                Route(jid, stanza);
            }
        }
        catch (Exception)
        {
            // A test client going away is normal.
        }
        finally
        {
            if (jid is not null && _clients.TryRemove(new KeyValuePair<string, XmppTransport>(jid, transport)))
            {
                foreach (var other in _clients.Values)
                {
                    _ = other.TryEnqueue(new XElement(Stanza.Presence, new XAttribute("from", jid), new XAttribute("type", "unavailable")));
                }
            }

            await transport.DisposeAsync();
        }
    }

    private void Route(string from, XElement stanza)
    {
        stanza.SetAttributeValue("from", from);
        var to = (string?)stanza.Attribute("to");
        if (stanza.Name == Stanza.Presence && to is null)
        {
            foreach (var (jid, other) in _clients)
            {
                if (jid != from)
                {
                    var copy = new XElement(stanza);
                    copy.SetAttributeValue("to", jid);
                    _ = other.TryEnqueue(copy);
                }
            }

            return;
        }

        if (to is null || to == Domain || to == Jid.Parse(from).Bare.ToString())
        {
            if (stanza.Name == Stanza.Iq && Stanza.GetIqType(stanza) is IqType.Get or IqType.Set)
            {
                var payload = stanza.Elements().FirstOrDefault();
                var reply = payload?.Name == XName.Get("ping", Namespaces.Ping)
                    ? Stanza.MakeResult(stanza)
                    : Stanza.MakeError(stanza, StanzaError.ServiceUnavailable());
                reply.SetAttributeValue("to", from);
                reply.SetAttributeValue("from", to ?? Domain);
                _ = _clients.GetValueOrDefault(from)?.TryEnqueue(reply);
            }

            return;
        }

        var routed = Intercept is null ? stanza : Intercept(stanza);
        if (routed is null)
        {
            return;
        }

        if (_clients.TryGetValue(to, out var target))
        {
            _ = target.TryEnqueue(routed);
        }
        else if (stanza.Name == Stanza.Iq && Stanza.GetIqType(stanza) is IqType.Get or IqType.Set)
        {
            var error = Stanza.MakeError(stanza, StanzaError.ServiceUnavailable());
            _ = _clients.GetValueOrDefault(from)?.TryEnqueue(error);
        }
    }
}
