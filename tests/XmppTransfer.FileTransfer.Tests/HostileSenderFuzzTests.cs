using System.Globalization;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using XmppTransfer.Core;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// A hostile sender driving SI offers and in-band bytestreams by hand, with seeded random values where they hurt (names,
/// sizes, dates, hashes, block sizes, seqs, base64, data after the close): the receiver answers every request, ends each
/// accepted receive with a <see cref="FileTransferException"/> or a file of the offered size, writes nothing outside its
/// folder, and logs no failure of its own.
/// </summary>
public sealed class HostileSenderFuzzTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(20);
    private static readonly string[] s_names =
    [
        "../escape.bin", "..", ".", "/etc/passwd", "C:\\Windows\\x.dll", "a/../../b", "CON", "nul.txt", "com1 .bin", " .hidden. ",
        "\u202Egnp.exe", new string('n', 3000) + ".bin", "emoji\U0001F600.bin", "x:y|z?.bin", "...", "normal.bin",
    ];

    private static readonly string[] s_sizes = ["0", "1", "10", "5000", "9223372036854775807", "4611686018427387904", "-1", "1e3", " 5", "99999999999999999999"];
    private static readonly string[] s_dates = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00Z", "garbage", "99999-01-01"];
    private static readonly string[] s_blockSizes = ["0", "1", "7", "4096", "65535", "65536", "-5", "2147483648", "x"];

    private readonly string _root = Directory.CreateTempSubdirectory("xft-hostile-").FullName;
    private readonly RecordingLoggerFactory _bobLog = new();
    private LoopbackRouter _router = null!;
    private XmppClient _mallory = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _bobFiles = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _bobFiles = new FileTransferManager(new FileTransferOptions
        {
            // A sender that opens nothing valid, or stops sending, is waited for this long: bounded, and short for the test.
            Ibb = Bytestreams.Ibb.InBandBytestreamOptions.Default with { OpenTimeout = TimeSpan.FromSeconds(1), InactivityTimeout = TimeSpan.FromSeconds(1) },
        });
        _mallory = await _router.ConnectAsync("mallory");
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles), _router.ClientOptions("bob") with { LoggerFactory = _bobLog });
    }

    public async ValueTask DisposeAsync()
    {
        await _mallory.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Seeded_hostile_offers_and_in_band_streams_end_in_answers_and_clean_failures_or_whole_files()
    {
        var random = new Random(14);
        var inbox = Path.Combine(_root, "in");
        var accepting = AcceptEveryOfferAsync(inbox);

        for (var round = 0; round < 16; round++)
        {
            await PlayRoundAsync(random, round);
        }

        // Every receive has ended: each round waited for its offer's outcome.
        Assert.True(_bob.IsConnected);
        Assert.Equal([inbox], Directory.GetFileSystemEntries(_root));
        foreach (var file in Directory.GetFiles(inbox))
        {
            Assert.DoesNotContain(Path.DirectorySeparatorChar, Path.GetRelativePath(inbox, file));
        }

        Assert.Equal([], _bobLog.Events.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Id}: {e.Message}"));
        Assert.Empty(_outcomes);

        // Not vacuous: some offers were accepted and streamed to, and the accepting loop is still running.
        Assert.InRange(_streamed, 1, 16);
        Assert.False(accepting.IsCompleted, accepting.Exception?.ToString());
    }

    private readonly List<string> _outcomes = [];

    /// <summary>Rounds whose offer was accepted, so that an in-band stream was played against the receive.</summary>
    private int _streamed;
    private readonly Dictionary<string, TaskCompletionSource<FileTransferResult?>> _receives = [];

    private async Task AcceptEveryOfferAsync(string inbox)
    {
        await foreach (var offer in _bobFiles.ReceiveOffersAsync(TestContext.Current.CancellationToken))
        {
            TaskCompletionSource<FileTransferResult?> done;
            lock (_receives)
            {
                done = _receives.TryGetValue(offer.Sid, out var known) ? known : _receives[offer.Sid] = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    var result = await offer.AcceptAsync(inbox, new FileReceiveOptions { Overwrite = true });
                    if (new FileInfo(result.Path!).Length != offer.File.Size)
                    {
                        lock (_outcomes)
                        {
                            _outcomes.Add($"{offer.Sid}: a file of {new FileInfo(result.Path!).Length} bytes named as complete for an offer of {offer.File.Size}");
                        }
                    }

                    done.TrySetResult(result);
                }
                catch (FileTransferException)
                {
                    done.TrySetResult(null);
                }
                catch (Exception ex)
                {
                    lock (_outcomes)
                    {
                        _outcomes.Add($"{offer.Sid}: {ex}");
                    }

                    done.TrySetResult(null);
                }
            });
        }
    }

    private TaskCompletionSource<FileTransferResult?> Receive(string sid)
    {
        lock (_receives)
        {
            return _receives.TryGetValue(sid, out var known) ? known : _receives[sid] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private async Task PlayRoundAsync(Random random, int round)
    {
        var sid = "s" + round.ToString(CultureInfo.InvariantCulture);
        var offer = new SiOffer(sid, new FileOfferDescription("x", 1) { SupportsRange = random.Next(2) == 0 }, [StreamMethods.Ibb]).ToXml();
        var file = offer.Element(SiOffer.FileName)!;
        file.SetAttributeValue("name", s_names[random.Next(s_names.Length)]);
        var sizeText = s_sizes[random.Next(s_sizes.Length)];
        file.SetAttributeValue("size", sizeText);
        if (random.Next(2) == 0)
        {
            file.SetAttributeValue("date", s_dates[random.Next(s_dates.Length)]);
        }

        if (random.Next(3) == 0)
        {
            file.SetAttributeValue("hash", random.Next(2) == 0 ? new string('0', 32) : "zz");
        }

        if (random.Next(3) == 0)
        {
            file.Add(new XElement(XName.Get("hash", "urn:xmpp:hashes:2"), new XAttribute("algo", "sha-256"), random.Next(2) == 0 ? Convert.ToBase64String(new byte[32]) : "!!"));
        }

        var receive = Receive(sid);
        XElement answer;
        try
        {
            answer = await _mallory.SendIqAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, offer)).WaitAsync(s_cap);
        }
        catch (XmppStanzaErrorException)
        {
            // Refused at once (a bad offer, no room on disk): there is no receive to wait for.
            receive.TrySetResult(null);
            return;
        }

        _ = answer;
        _streamed++;
        var open = new XElement(XName.Get("open", Namespaces.Ibb), new XAttribute("sid", sid), new XAttribute("block-size", s_blockSizes[random.Next(s_blockSizes.Length)]));
        if (random.Next(4) == 0)
        {
            open.SetAttributeValue("stanza", random.Next(2) == 0 ? "message" : "carrier-pigeon");
        }

        await AnsweredAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, open));
        var seq = random.Next(4) == 0 ? 65534 : 0;
        for (var block = random.Next(0, 6); block > 0; block--)
        {
            var bytes = new byte[random.Next(0, 3000)];
            random.NextBytes(bytes);
            var text = random.Next(6) == 0 ? "%%%not base64" : Convert.ToBase64String(bytes);
            var data = new XElement(XName.Get("data", Namespaces.Ibb), new XAttribute("sid", sid), new XAttribute("seq", (seq & 0xFFFF).ToString(CultureInfo.InvariantCulture)), text);
            if (random.Next(8) != 0)
            {
                seq++;
            }

            await AnsweredAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, data));
        }

        await AnsweredAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, new XElement(XName.Get("close", Namespaces.Ibb), new XAttribute("sid", sid))));
        if (random.Next(3) == 0)
        {
            var late = new XElement(XName.Get("data", Namespaces.Ibb), new XAttribute("sid", sid), new XAttribute("seq", (seq & 0xFFFF).ToString(CultureInfo.InvariantCulture)), "AAAA");
            await AnsweredAsync(Stanza.MakeIq(IqType.Set, _bob.BoundJid, late));
        }

        try
        {
            await receive.Task.WaitAsync(s_cap);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Round {round}: the receive did not end ({file.ToString().Replace(new string('n', 3000), "n*3000", StringComparison.Ordinal)}, {open}).");
        }
    }

    /// <summary>Sends a request and waits for its answer, result or error: a request left unanswered fails the test.</summary>
    private async Task AnsweredAsync(XElement iq)
    {
        try
        {
            await _mallory.SendIqAsync(iq).WaitAsync(s_cap);
        }
        catch (XmppStanzaErrorException)
        {
        }
    }
}
