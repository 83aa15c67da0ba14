using System.Xml.Linq;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// A sender the test drives step by step through the embedded server: an SI offer (in-band only, no hash), then the bytes in
/// the pieces the test chooses. While the test holds a transfer, <c>xft receive</c> is busy with it and takes no other offer,
/// so the test, not timing, decides what waits in its queue.
/// </summary>
internal sealed class RawSender : IAsyncDisposable
{
    private readonly XmppClient _client;
    private readonly InBandBytestreamManager _ibb;
    private readonly TimeSpan _cap;

    private RawSender(XmppClient client, InBandBytestreamManager ibb, TimeSpan cap)
    {
        _client = client;
        _ibb = ibb;
        _cap = cap;
    }

    public Jid Jid => _client.BoundJid;

    /// <summary>Logs in as <paramref name="user"/>/<paramref name="resource"/>.</summary>
    public static async Task<RawSender> ConnectAsync(CliServerFixture fixture, string user, string password, string resource, TimeSpan cap)
    {
        var ibb = new InBandBytestreamManager();
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Create(user, "cli.test", resource),
            Password = password,
            Host = "127.0.0.1",
            Port = fixture.Server.ClientEndPoint.Port,
            TrustedCertificateSha256 = fixture.Server.CertificateSha256,
        });
        try
        {
            client.AddExtension(ibb);
            await client.ConnectAsync().WaitAsync(cap);
            return new RawSender(client, ibb, cap);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Offers a file of <paramref name="size"/> bytes; ends with the receiver's answer (a stanza error when declined).</summary>
    public Task<XElement> OfferAsync(Jid to, string sid, string name, long size) => OfferAsync(to, sid, new FileOfferDescription(name, size));

    /// <summary>Offers <paramref name="file"/> as described (a hash and range support make it a file a later offer can resume).</summary>
    public Task<XElement> OfferAsync(Jid to, string sid, FileOfferDescription file) =>
        _client.SendIqAsync(Stanza.MakeIq(IqType.Set, to, new SiOffer(sid, file, [StreamMethods.Ibb]).ToXml()), _cap);

    /// <summary>Opens the in-band bytestream of an accepted offer, in blocks of 1 KiB: each whole block written goes out at once.</summary>
    public Task<IbbSendStream> OpenAsync(Jid to, string sid) =>
        _ibb.OpenAsync(to, sid, InBandBytestreamOptions.Default with { BlockSize = 1024 }).WaitAsync(_cap);

    /// <summary>Offers <paramref name="content"/> and sends all of it once accepted.</summary>
    public async Task SendAsync(Jid to, string sid, string name, byte[] content)
    {
        await OfferAsync(to, sid, name, content.Length);
        await using var stream = await OpenAsync(to, sid);
        await stream.WriteAsync(content).AsTask().WaitAsync(_cap);
        await stream.CompleteAsync().WaitAsync(_cap);
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
