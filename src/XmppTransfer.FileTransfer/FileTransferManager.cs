using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Bytestreams.Ibb;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.FileTransfer.Si;

namespace XmppTransfer.FileTransfer;

/// <summary>
/// Sends and receives files with SI file transfer (XEP-0095/0096): picks the stream method,
/// falls back from SOCKS5 to IBB, resumes with ranges, verifies hashes, reports progress and
/// cancels cleanly on either side. Add it to a connected client with <c>client.AddExtension</c>.
/// </summary>
public sealed partial class FileTransferManager : IXmppExtension
{
    /// <summary>
    /// Offers waiting for <see cref="ReceiveOffersAsync"/>. Full mode Wait, so that a write to a full queue fails (and the
    /// offer is refused at once) instead of being dropped unanswered, as DropWrite does while reporting success.
    /// </summary>
    private readonly Channel<IncomingFileOffer> _offers = Channel.CreateBounded<IncomingFileOffer>(
        new BoundedChannelOptions(MaxQueuedOffers) { FullMode = BoundedChannelFullMode.Wait, SingleReader = false });

    /// <summary>Per bare JID, the offers that wait in <see cref="_offers"/> (see <see cref="Enqueue"/>).</summary>
    private readonly Dictionary<Jid, int> _waitingBySender = [];
    private readonly Lock _waitingGate = new();
    private XmppSession? _session;
    private InBandBytestreamManager? _ibb;
    private Socks5BytestreamManager? _socks5;
    private ILogger _logger = NullLogger.Instance;

    public FileTransferManager(FileTransferOptions? options = null)
    {
        Options = options ?? FileTransferOptions.Default;
        _awaitingFallback = new FallbackWaiters(Options.TimeProvider ?? TimeProvider.System, FallbackWaiters.ReofferHold, Release);
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxPendingOffersPerSender, 1, nameof(FileTransferOptions.MaxPendingOffersPerSender));
        ArgumentNullException.ThrowIfNull(Options.TimeProvider, nameof(FileTransferOptions.TimeProvider));
        if (Options.WriteStallTimeout <= TimeSpan.Zero && Options.WriteStallTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{nameof(FileTransferOptions.WriteStallTimeout)} must be positive (or infinite).");
        }
    }

    /// <summary>Most offers, from all senders together, that wait for <see cref="ReceiveOffersAsync"/>.</summary>
    internal const int MaxQueuedOffers = 64;

    public FileTransferOptions Options { get; }

    /// <summary>
    /// Raised for an offer declined on arrival by <see cref="FileTransferOptions.AcceptFrom"/> or
    /// <see cref="FileTransferOptions.MaxFileSize"/>, which never reaches <see cref="ReceiveOffersAsync"/>: how an application
    /// tells its user. Raised on the session's read loop just before the decline is sent; a handler must return quickly,
    /// and one that throws is logged and ignored. Offers refused as busy (<c>resource-constraint</c>, offered again later)
    /// and offers that expire in the queue are not reported here.
    /// </summary>
    public event Action<DeclinedOffer>? OfferDeclined;

    internal XmppSession Session => _session ?? throw new InvalidOperationException("Add the manager to a session first (client.AddExtension).");

    internal InBandBytestreamManager Ibb => _ibb ?? throw new InvalidOperationException("Add the manager to a session first.");

    internal ILogger Logger => _logger;

    /// <summary>
    /// Where the free-space checks of both receive paths learn how many bytes a folder's file system has free (null:
    /// unknown). The file system's own figure; tests put a number of their choosing here.
    /// </summary>
    internal Func<string, long?> FreeSpace { get; init; } = Storage.DiskSpace.FreeBytes;

    /// <summary>Replaces the zero-copy receive's pipe -> file splice when not null; tests put a disk that never answers here.</summary>
    internal Storage.Linux.FileSpliceCall? FileSplice { get; init; }

    public void Attach(XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _logger = session.LoggerFactory.CreateLogger<FileTransferManager>();
        _ibb = session.GetExtension<InBandBytestreamManager>();
        if (_ibb is null)
        {
            _ibb = new InBandBytestreamManager(Options.Ibb);
            session.AddExtension(_ibb);
        }

        _socks5 = session.GetExtension<Socks5BytestreamManager>();
        if (_socks5 is null && Options.EnableSocks5)
        {
            _socks5 = new Socks5BytestreamManager(Options.Socks5);
            session.AddExtension(_socks5);
        }

        session.Disco.AddFeature(Namespaces.Si);
        session.Disco.AddFeature(Namespaces.SiFileTransfer);
        session.Disco.AddFeature(Namespaces.FeatureNeg);
        session.Disco.AddFeature(Namespaces.Hashes);
        session.Disco.AddFeature(Namespaces.HashFunctionSha256);
        session.RegisterIqHandler(SiOffer.SiName, IqType.Set, HandleOffer);
        session.PresenceReceived += HandleSenderPresence;
        AttachOob(session);
    }

    /// <summary>
    /// Incoming offers, as they arrive. Each must be accepted or declined; one left alone is
    /// declined after <see cref="FileTransferOptions.OfferTimeout"/>. At most 64 wait to be taken here, and at most
    /// <see cref="FileTransferOptions.MaxPendingOffersPerSender"/> of one sender; offers beyond are refused at once.
    /// </summary>
    public async IAsyncEnumerable<IncomingFileOffer> ReceiveOffersAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var offer in _offers.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            LeftQueue(offer.From);
            yield return offer;
        }
    }

    /// <summary>
    /// Finds where to send: a full JID is checked (disco#info) for SI file transfer; a bare JID is
    /// resolved to an available resource that supports it, from the presence we have seen.
    /// </summary>
    public async Task<Jid> ResolveReceiverAsync(Jid to, CancellationToken cancellationToken = default) =>
        (await ResolvePeerAsync(to, SupportsSi, SiCapability, cancellationToken).ConfigureAwait(false)).Peer;

    private const string SiCapability = "SI file transfer (XEP-0096)";

    /// <summary>
    /// The one place that picks a receiver: returns the full JID and the disco#info it answered, so callers
    /// choose methods and hashes from the same query instead of asking again.
    /// </summary>
    internal async Task<(Jid Peer, DiscoInfo Info)> ResolvePeerAsync(
        Jid to, Func<DiscoInfo, bool> supports, string capability, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(to);
        if (!to.IsBare)
        {
            var info = await GetPeerInfoAsync(to, cancellationToken).ConfigureAwait(false);
            return supports(info)
                ? (to, info)
                : throw new FileTransferException(
                    FileTransferErrorKind.NotSupported,
                    $"{to} does not support {capability}; clients such as Conversations, Dino and Monal use HTTP upload or Jingle instead.");
        }

        if (to.Local is null)
        {
            // A bare domain is a server or a component (a proxy, a MUC service): no client that receives files has one as its
            // address, and "give the full JID, e.g. proxy.example.org/resource" would send the user after one that does not exist.
            throw new FileTransferException(
                FileTransferErrorKind.NotSupported,
                $"{to} is a server or a component, not a client that receives files; give the JID of a person's client (user@domain, or user@domain/resource).");
        }

        var resources = (Session as XmppClient)?.Presence.GetResources(to) ?? [];
        foreach (var resource in resources)
        {
            try
            {
                var info = await Session.Disco.GetInfoAsync(resource.Jid, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (supports(info))
                {
                    return (resource.Jid, info);
                }
            }
            catch (XmppException ex) when (ex is not FileTransferException && !cancellationToken.IsCancellationRequested)
            {
                // That resource went away or does not answer disco; try the next one.
            }
        }

        throw new FileTransferException(
            resources.Count == 0 ? FileTransferErrorKind.PeerUnavailable : FileTransferErrorKind.NotSupported,
            resources.Count == 0
                ? $"No available resource of {to} is known (we see presence only from contacts who share it). Give the full JID, e.g. {to}/resource."
                : $"None of the available resources of {to} supports {capability}. Give a full JID to try one anyway.");
    }

    private async Task<DiscoInfo> GetPeerInfoAsync(Jid to, CancellationToken cancellationToken)
    {
        try
        {
            return await Session.Disco.GetInfoAsync(to, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaErrorException ex) when (ex.Error.Condition is "remote-server-not-found" or "remote-server-timeout")
        {
            throw Unreachable(to, ex);
        }
        catch (XmppStanzaErrorException ex) when (ex.Error.Condition is "service-unavailable" or "item-not-found" or "recipient-unavailable")
        {
            throw new FileTransferException(FileTransferErrorKind.PeerUnavailable, $"{to} is not online ({ex.Error.Condition}).", ex);
        }
    }

    private static bool SupportsSi(DiscoInfo info) => info.HasFeature(Namespaces.Si) && info.HasFeature(Namespaces.SiFileTransfer);

    private ValueTask<XElement?> HandleOffer(XElement iq, CancellationToken cancellationToken)
    {
        var from = Stanza.GetFrom(iq) ?? throw new XmppStanzaErrorException(StanzaError.BadRequest("The offer has no sender."));
        var offer = SiOffer.Parse(iq.Element(SiOffer.SiName)!);
        var incoming = new IncomingFileOffer(this, from, offer);

        if (!TryRouteFallback(incoming))
        {
            Admit(incoming);
        }

        return new ValueTask<XElement?>(incoming.Response.Task);
    }

    /// <summary>
    /// Queues an offer for <see cref="ReceiveOffersAsync"/> after the checks every offer passes, and starts its timeout.
    /// Throws the stanza error that declines it.
    /// </summary>
    private void Admit(IncomingFileOffer incoming)
    {
        var from = incoming.From;
        var offer = incoming.Offer!;
        if (!IsAcceptedSender(from))
        {
            FileTransferLog.Declined(_logger, offer.Sid, from.ToString(), "sender not on the accept list");
            RaiseDeclined(new DeclinedOffer(from, offer.Sid, offer.File, OfferDeclineReason.SenderNotAccepted));
            throw new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "forbidden", "Offer Declined"));
        }

        if (Options.MaxFileSize is { } max && offer.File.Size > max)
        {
            FileTransferLog.Declined(_logger, offer.Sid, from.ToString(), $"{offer.File.Size} bytes is over the limit of {max}");
            RaiseDeclined(new DeclinedOffer(from, offer.Sid, offer.File, OfferDeclineReason.TooLarge));
            throw new XmppStanzaErrorException(new StanzaError(StanzaErrorType.Cancel, "forbidden", $"Offer Declined: files up to {max} bytes."));
        }

        if (!offer.Methods.Any(IsSupportedIncomingMethod))
        {
            throw new XmppStanzaErrorException(new StanzaError(
                StanzaErrorType.Cancel, "bad-request", "No common stream method.", new XElement(XName.Get("no-valid-streams", Namespaces.Si))));
        }

        Enqueue(incoming);
    }

    /// <summary>
    /// Puts an offer that passed its checks in the queue of <see cref="ReceiveOffersAsync"/> and starts its timeout, or refuses
    /// it at once (<c>resource-constraint</c>, type wait: try later) when its sender has
    /// <see cref="FileTransferOptions.MaxPendingOffersPerSender"/> offers waiting already, or the queue is full. An offer stops
    /// counting against its sender when it is taken from the queue (<see cref="ReceiveOffersAsync"/>); an expired
    /// offer keeps its place until then, so one sender cannot take the room of the others while the application is busy
    /// with a transfer, not even with offers that expire and are sent again.
    /// </summary>
    internal void Enqueue(IncomingFileOffer incoming)
    {
        var sender = incoming.From.Bare;
        int waiting;
        lock (_waitingGate)
        {
            waiting = _waitingBySender.GetValueOrDefault(sender);
            if (waiting < Options.MaxPendingOffersPerSender)
            {
                _waitingBySender[sender] = waiting + 1;
            }
        }

        if (waiting >= Options.MaxPendingOffersPerSender)
        {
            FileTransferLog.Declined(_logger, incoming.Sid, incoming.From.ToString(), $"{waiting} offers from {sender} are waiting already (the limit per sender)");
            throw new XmppStanzaErrorException(StanzaError.ResourceConstraint(
                $"Too many of your offers are waiting ({waiting}); offer again once they are answered."));
        }

        if (!_offers.Writer.TryWrite(incoming))
        {
            LeftQueue(sender);
            FileTransferLog.Declined(_logger, incoming.Sid, incoming.From.ToString(), $"{MaxQueuedOffers} offers are waiting already (the queue is full)");
            throw new XmppStanzaErrorException(StanzaError.ResourceConstraint("Too many offers are waiting; offer again later."));
        }

        incoming.StartTimeout(Options.OfferTimeout);
    }

    /// <summary>
    /// Gives back the place <see cref="Enqueue"/> counted for an offer of <paramref name="sender"/>: once per offer, when it is
    /// read from the queue (only <see cref="ReceiveOffersAsync"/> reads it) or did not get in. Offers the manager claims
    /// itself (a fallback re-offer, a shared link) never enter the queue.
    /// </summary>
    private void LeftQueue(Jid sender)
    {
        var bare = sender.Bare;
        lock (_waitingGate)
        {
            if (_waitingBySender.TryGetValue(bare, out var waiting))
            {
                if (waiting <= 1)
                {
                    _waitingBySender.Remove(bare);
                }
                else
                {
                    _waitingBySender[bare] = waiting - 1;
                }
            }
        }
    }

    /// <summary>The SOCKS5 bytestream manager of the session, when S5B is available.</summary>
    internal Socks5BytestreamManager? Socks5 => _socks5;

    /// <summary>Tells each <see cref="OfferDeclined"/> handler; one that throws does not keep the others or the decline from running.</summary>
    internal void RaiseDeclined(DeclinedOffer declined)
    {
        if (OfferDeclined is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Action<DeclinedOffer>>())
        {
            try
            {
                handler(declined);
            }
            catch (Exception ex)
            {
                FileTransferLog.DeclinedHandlerFailed(_logger, ex);
            }
        }
    }

    private bool IsAcceptedSender(Jid from) => Options.AcceptFrom.Count == 0 || Options.AcceptFrom.Any(j => j.Bare == from.Bare);

    internal bool IsSupportedIncomingMethod(string method) =>
        method == StreamMethods.Ibb || (method == StreamMethods.Socks5 && Socks5 is not null);
}
