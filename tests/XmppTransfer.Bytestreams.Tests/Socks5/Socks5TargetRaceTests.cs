using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Bytestreams.Tests.Socks5;

/// <summary>
/// The target's candidate race and the requester's presence: a requester gone (its unavailable presence) during the race
/// ends it at once, with the connections it made closed and no streamhost-used sent.
/// </summary>
public sealed class Socks5TargetRaceTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private Socks5Pair _pair = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _pair = await Socks5Pair.StartAsync(Socks5Pair.Slow);

    public ValueTask DisposeAsync() => _pair.DisposeAsync();

    [Fact]
    public async Task A_requester_going_unavailable_during_the_candidate_race_ends_it_at_once_as_peer_unavailable()
    {
        // A streamhost that takes the TCP connection and never answers the SOCKS5 greeting: the race hangs on it.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var registration = _pair.BobS5b.Expect(_pair.Alice.BoundJid, "gone");
        var waiting = _pair.BobS5b.WaitExpectedAsync(_pair.Alice.BoundJid, "gone", registration, Ct);
        var query = $"<query xmlns='http://jabber.org/protocol/bytestreams' sid='gone'><streamhost jid='proxy.example.test' host='127.0.0.1' port='{port}'/></query>";
        var offer = _pair.Alice.SendIqAsync(Stanza.MakeIq(IqType.Set, _pair.Bob.BoundJid, XElement.Parse(query)), cancellationToken: Ct);
        using var held = await silent.AcceptSocketAsync(Ct).AsTask().WaitAsync(s_cap, Ct);

        _pair.Router.Deliver(
            _pair.Bob.BoundJid, new XElement(Stanza.Presence, new XAttribute("from", _pair.Alice.BoundJid.ToString()), new XAttribute("type", "unavailable")));

        var ex = await Assert.ThrowsAsync<BytestreamException>(() => waiting.WaitAsync(s_cap, Ct));
        Assert.Equal(BytestreamErrorKind.PeerUnavailable, ex.ErrorKind);
        Assert.Contains(_pair.Alice.BoundJid + " went offline", ex.Message, StringComparison.Ordinal);

        // The candidate connection is closed (the streamhost reads EOF), and the offer is not answered with streamhost-used.
        // (The SOCKS5 greeting may come first: a few bytes.)
        var buffer = new byte[64];
        var read = -1;
        for (var reads = 0; read != 0 && reads < 8; reads++)
        {
            read = await held.ReceiveAsync(buffer, SocketFlags.None, Ct).AsTask().WaitAsync(s_cap, Ct);
        }

        Assert.Equal(0, read);
        var answer = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => offer.WaitAsync(s_cap, Ct));
        Assert.Equal("not-acceptable", answer.Error.Condition);
        Assert.Equal(0, _pair.BobS5b.WatchCount);
    }
}
