using System.Xml.Linq;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// The queue of offers that wait for <see cref="FileTransferManager.ReceiveOffersAsync"/>: one sender may keep only a few
/// there, so a hostile one cannot take the room of the others; a full queue refuses at once rather than dropping offers
/// unanswered.
/// </summary>
public sealed class IncomingOfferQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-queue-").FullName;
    private readonly List<XmppClient> _clients = [];
    private LoopbackRouter _router = null!;
    private int _nextSid;

    public ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_senders_fifth_waiting_offer_is_refused_at_once_while_another_senders_offer_still_gets_in_and_is_received()
    {
        var bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 4 });
        var bob = await ConnectAsync("bob", bobFiles);
        var mallory = await ConnectAsync("mallory");
        var carolFiles = new FileTransferManager();
        var carol = await ConnectAsync("carol", carolFiles);

        var waiting = Enumerable.Range(0, 4).Select(_ => OfferAsync(mallory, bob)).ToList();
        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => OfferAsync(mallory, bob).WaitAsync(s_cap));
        Assert.Equal("resource-constraint", refused.Error.Condition);
        Assert.Equal(StanzaErrorType.Wait, refused.Error.Type);
        Assert.Contains("waiting", refused.Error.Text, StringComparison.Ordinal);

        // Mallory's four offers still wait (nobody has taken them); Carol's offer comes after them and is received.
        var source = TransferTestKit.MakeFile(_root, "carol.bin", 10_000);
        var send = carolFiles.SendFileAsync(bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var mallorys = new List<IncomingFileOffer>();
        for (var i = 0; i < 4; i++)
        {
            var offer = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
            Assert.Equal(mallory.BoundJid, offer.From);
            mallorys.Add(offer);
        }

        var carols = await TransferTestKit.NextOfferAsync(bobFiles, s_cap);
        Assert.Equal(carol.BoundJid, carols.From);
        var received = await carols.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));

        foreach (var offer in mallorys)
        {
            await offer.DeclineAsync();
        }

        await AssertDeclinedAsync(waiting);
    }

    [Fact]
    public async Task The_limit_counts_a_senders_offers_from_all_its_resources()
    {
        var bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 2 });
        var bob = await ConnectAsync("bob", bobFiles);
        var laptop = await ConnectAsync("mallory", resource: "laptop");
        var phone = await ConnectAsync("mallory", resource: "phone");

        // Two connections: nothing orders the phone's offer against the laptop's second, so whichever arrives third is the
        // one refused. Counted per resource, all three would fit.
        List<Task<XElement>> offers = [OfferAsync(laptop, bob), OfferAsync(phone, bob), OfferAsync(laptop, bob)];
        var first = await Task.WhenAny(offers).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => first);

        Assert.Equal("resource-constraint", refused.Error.Condition);
        offers.Remove(first);
        await DeclineQueuedAsync(bobFiles, offers.Count);
        await AssertDeclinedAsync(offers);
    }

    [Fact]
    public async Task A_sender_gets_its_place_back_when_the_application_takes_one_of_its_offers()
    {
        var bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 4 });
        var bob = await ConnectAsync("bob", bobFiles);
        var mallory = await ConnectAsync("mallory");
        var waiting = Enumerable.Range(0, 4).Select(_ => OfferAsync(mallory, bob)).ToList();

        var taken = new List<IncomingFileOffer> { await TransferTestKit.NextOfferAsync(bobFiles, s_cap) };
        var fifth = OfferAsync(mallory, bob);

        // Queued, not refused: the application meets it behind the three others. None is answered before, so only the take
        // can have made its room.
        for (var i = 0; i < 4; i++)
        {
            taken.Add(await TransferTestKit.NextOfferAsync(bobFiles, s_cap));
        }

        Assert.All(taken, o => Assert.Equal(mallory.BoundJid, o.From));
        foreach (var offer in taken)
        {
            await offer.DeclineAsync();
        }

        await AssertDeclinedAsync([.. waiting, fifth]);
    }

    [Fact]
    public async Task A_senders_expired_offers_keep_their_places_until_the_application_takes_them()
    {
        var bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 4, OfferTimeout = TimeSpan.FromMilliseconds(200) });
        var bob = await ConnectAsync("bob", bobFiles);
        var mallory = await ConnectAsync("mallory");

        foreach (var offer in Enumerable.Range(0, 4).Select(_ => OfferAsync(mallory, bob)).ToList())
        {
            var expired = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => offer.WaitAsync(s_cap));
            Assert.Equal("forbidden", expired.Error.Condition);
        }

        // Expired but still queued: they count, or a sender could fill the whole queue behind a long transfer by offering
        // again every time its offers expire.
        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => OfferAsync(mallory, bob).WaitAsync(s_cap));
        Assert.Equal("resource-constraint", refused.Error.Condition);

        // Once the application has taken them (and seen that they expired), the sender has its places back.
        for (var i = 0; i < 4; i++)
        {
            Assert.True((await TransferTestKit.NextOfferAsync(bobFiles, s_cap)).IsExpired);
        }

        var next = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => OfferAsync(mallory, bob).WaitAsync(s_cap));
        Assert.Equal("forbidden", next.Error.Condition);
    }

    [Fact]
    public async Task An_offer_that_finds_the_queue_full_is_refused_at_once_not_dropped_unanswered()
    {
        // One sender allowed to fill the whole queue; the offer timeout is far beyond the test's wait, so only an immediate
        // answer passes.
        var bobFiles = new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 1000, OfferTimeout = TimeSpan.FromMinutes(10) });
        var bob = await ConnectAsync("bob", bobFiles);
        var mallory = await ConnectAsync("mallory");
        var waiting = Enumerable.Range(0, FileTransferManager.MaxQueuedOffers).Select(_ => OfferAsync(mallory, bob)).ToList();

        var refused = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => OfferAsync(mallory, bob).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.Equal("resource-constraint", refused.Error.Condition);
        await DeclineQueuedAsync(bobFiles, waiting.Count);
        await AssertDeclinedAsync(waiting);
    }

    [Fact]
    public void The_limit_per_sender_must_be_at_least_one() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { MaxPendingOffersPerSender = 0 }));

    [Fact]
    public void The_write_stall_timeout_must_be_positive_or_infinite()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { WriteStallTimeout = TimeSpan.Zero }));
        var manager = new FileTransferManager(new FileTransferOptions { WriteStallTimeout = Timeout.InfiniteTimeSpan });
        Assert.Equal(Timeout.InfiniteTimeSpan, manager.Options.WriteStallTimeout);
    }

    private async Task<XmppClient> ConnectAsync(string user, FileTransferManager? files = null, string? resource = null)
    {
        var client = await _router.ConnectAsync(
            user, c =>
            {
                if (files is not null)
                {
                    c.AddExtension(files);
                }
            },
            resource is null ? null : _router.ClientOptions(user, resource));
        _clients.Add(client);
        return client;
    }

    /// <summary>A bare SI offer by IBB, as a hostile sender sends it: the task ends with the receiver's answer.</summary>
    private Task<XElement> OfferAsync(XmppClient from, XmppClient to)
    {
        var sid = $"q{Interlocked.Increment(ref _nextSid)}";
        var offer = new SiOffer(sid, new FileOfferDescription($"{sid}.bin", 10), [StreamMethods.Ibb]);
        return from.SendIqAsync(Stanza.MakeIq(IqType.Set, to.BoundJid, offer.ToXml()), TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);
    }

    /// <summary>Takes the next <paramref name="count"/> offers from the queue and declines each.</summary>
    private static async Task DeclineQueuedAsync(FileTransferManager receiver, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var offer = await TransferTestKit.NextOfferAsync(receiver, s_cap);
            await offer.DeclineAsync();
        }
    }

    private static async Task AssertDeclinedAsync(IEnumerable<Task<XElement>> offers)
    {
        foreach (var offer in offers)
        {
            var declined = await Assert.ThrowsAsync<XmppStanzaErrorException>(() => offer.WaitAsync(s_cap));
            Assert.Equal("forbidden", declined.Error.Condition);
        }
    }
}
