using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Xml;

namespace XmppTransfer.Testing;

/// <summary>
/// A loopback XMPP "server" driven step by step by a test: it accepts one TCP connection, reads
/// what the client sends as elements and writes raw XML back. Enough to walk a client through
/// login (PLAIN without TLS) and then script any exchange, including hostile ones.
/// </summary>
public sealed class ScriptedXmppServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private Socket? _socket;
    private NetworkStream? _stream;
    private XmppXmlReader? _reader;

    public ScriptedXmppServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TimeSpan StepTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Accepts the client's TCP connection.</summary>
    public async Task AcceptAsync()
    {
        _socket = await _listener.AcceptSocketAsync().WaitAsync(StepTimeout);
        _stream = new NetworkStream(_socket, ownsSocket: true);
    }

    /// <summary>Reads the client's stream header (a fresh parser, as after every restart).</summary>
    public async Task<StreamHeader> ReadHeaderAsync()
    {
        _reader?.Dispose();
        _reader = new XmppXmlReader(_stream!, XmlLimits.Default);
        return await _reader.ReadHeaderAsync(CancellationToken.None).WaitAsync(StepTimeout);
    }

    /// <summary>Reads the next element the client sent; null when the client closed its stream.</summary>
    public async Task<XElement?> ReadAsync() => await _reader!.ReadElementAsync(CancellationToken.None).WaitAsync(StepTimeout);

    /// <summary>Reads elements until one matches, failing after the step timeout.</summary>
    public async Task<XElement> ReadUntilAsync(Func<XElement, bool> match)
    {
        while (true)
        {
            var element = await ReadAsync() ?? throw new InvalidOperationException("The client closed its stream.");
            if (match(element))
            {
                return element;
            }
        }
    }

    public async Task SendAsync(string xml)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);
        await _stream!.WriteAsync(bytes).AsTask().WaitAsync(StepTimeout);
    }

    public Task SendHeaderAsync(string id = "s1", string from = "example.test") =>
        SendAsync($"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='{id}' from='{from}' version='1.0'>");

    /// <summary>Walks a client with <c>AllowPlainWithoutTls</c> and <c>TlsMode.Off</c> through PLAIN and bind.</summary>
    public async Task<Jid> AcceptLoginAsync(string boundJid = "alice@example.test/test")
    {
        await AcceptAsync();
        await ReadHeaderAsync();
        await SendHeaderAsync();
        await SendAsync("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        var auth = await ReadAsync() ?? throw new InvalidOperationException("no auth");
        if (auth.Name.LocalName != "auth")
        {
            throw new InvalidOperationException("expected <auth/>, got " + auth);
        }

        await SendAsync("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        await ReadHeaderAsync();
        await SendHeaderAsync("s2");
        await SendAsync("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        var bind = await ReadAsync() ?? throw new InvalidOperationException("no bind");
        await SendAsync($"<iq type='result' id='{(string?)bind.Attribute("id")}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{boundJid}</jid></bind></iq>");
        return Jid.Parse(boundJid);
    }

    /// <summary>
    /// Ends the TCP connection's sending side (FIN) without closing the XML stream, as a server that just goes away does;
    /// what the client still sends can be read.
    /// </summary>
    public void EndConnection() => _socket?.Shutdown(SocketShutdown.Send);

    /// <summary>Cuts the TCP connection abruptly.</summary>
    public void Abort() => _socket?.Close(0);

    public async ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }

        _listener.Stop();
        _listener.Dispose();
    }
}
