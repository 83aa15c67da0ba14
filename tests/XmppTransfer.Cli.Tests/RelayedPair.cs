using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// A stream relayed by a real proxy process (<c>xft proxy</c> or the proxy of <c>xft server</c>), set up by hand: the target
/// and requester legs dial the proxy with a bare SOCKS5 handshake (RFC 1928, no authentication, DOMAINNAME = the XEP-0065
/// hash), and the requester's client activates it. The target JID only enters the hash: nobody answers for it.
/// </summary>
internal sealed class RelayedPair : IDisposable
{
    private readonly Socket _target;
    private readonly Socket _requester;
    private readonly TimeSpan _cap;

    private RelayedPair(Socket target, Socket requester, TimeSpan cap)
    {
        _target = target;
        _requester = requester;
        _cap = cap;
    }

    /// <summary>Bytes the target has received so far.</summary>
    public long Received { get; private set; }

    public static async Task<RelayedPair> OpenAsync(IPEndPoint proxy, string proxyJid, XmppClient requester, TimeSpan cap)
    {
        string sid = "shutdown-" + Guid.NewGuid().ToString("N");
        string target = "nobody@" + requester.BoundJid.Domain + "/t";
        string hash = Socks5Address.Compute(sid, requester.BoundJid.ToString(), target);
        Socket targetLeg = await LegAsync(proxy, hash, cap);
        Socket requesterLeg = await LegAsync(proxy, hash, cap);
        XElement query = new(XName.Get("query", Namespaces.Bytestreams), new XAttribute("sid", sid),
            new XElement(XName.Get("activate", Namespaces.Bytestreams), target));
        await requester.SendIqAsync(Stanza.MakeIq(IqType.Set, Jid.Parse(proxyJid), query), cap).WaitAsync(cap);
        return new RelayedPair(targetLeg, requesterLeg, cap);
    }

    /// <summary>Sends <paramref name="count"/> bytes from the requester and reads them all at the target.</summary>
    public async Task RelayAsync(int count)
    {
        byte[] data = new byte[count];
        Random.Shared.NextBytes(data);
        int sent = 0;
        while (sent < count)
        {
            sent += await _requester.SendAsync(data.AsMemory(sent), SocketFlags.None).AsTask().WaitAsync(_cap);
        }

        byte[] buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await _target.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(_cap);
            Assert.NotEqual(0, n);
            read += n;
        }

        Assert.Equal(data, buffer);
        Received += read;
    }

    /// <summary>
    /// Ends the stream as a finished transfer does: the receiver, holding every byte it was promised, closes, and so does
    /// the sender. (A proxy relays each direction until both have ended; a half-close alone ends nothing.)
    /// </summary>
    public void Finish()
    {
        _target.Close();
        _requester.Close();
    }

    public void Dispose()
    {
        _target.Dispose();
        _requester.Dispose();
    }

    private static async Task<Socket> LegAsync(IPEndPoint proxy, string hash, TimeSpan cap)
    {
        Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(proxy).WaitAsync(cap);

            // Greeting: VER=5 NMETHODS=1 METHODS=[00 no authentication]  ->  VER=5 METHOD=00
            await socket.SendAsync(new byte[] { 5, 1, 0 }.AsMemory(), SocketFlags.None).AsTask().WaitAsync(cap);
            Assert.Equal(new byte[] { 5, 0 }, await ReadExactlyAsync(socket, 2, cap));

            // CONNECT: VER=5 CMD=1 RSV=0 ATYP=3 LEN hash PORT=0  ->  VER=5 REP=0 RSV=0 ATYP=3 LEN hash PORT
            byte[] name = Encoding.ASCII.GetBytes(hash);
            byte[] request = [5, 1, 0, 3, (byte)name.Length, .. name, 0, 0];
            await socket.SendAsync(request.AsMemory(), SocketFlags.None).AsTask().WaitAsync(cap);
            byte[] reply = await ReadExactlyAsync(socket, 7 + name.Length, cap);
            Assert.Equal(new byte[] { 5, 0, 0, 3 }, reply[..4]);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count, TimeSpan cap)
    {
        byte[] buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(cap);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }
}
