using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Core.Disco;
using XmppTransfer.Core.Stanzas;
using XmppTransfer.Core.Transport;

namespace XmppTransfer.Core;

/// <summary>
/// What a client stream and a component stream share once negotiated: sending stanzas, IQ
/// request/response tracking with timeouts, IQ handlers keyed by payload and type, message and
/// presence listeners, and the service-discovery responder. Extensions plug in here.
/// </summary>
public abstract partial class XmppSession : IAsyncDisposable
{
    /// <summary>How long a polite close waits for IQ handlers that have not decided their answer yet (see CloseAsync).</summary>
    private static readonly TimeSpan s_answerGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>The handler task of a request answered on the read loop: decided, and nothing left for a close to send.</summary>
    private static readonly Task<XElement?> s_answered = Task.FromResult<XElement?>(null);

    private readonly ConcurrentDictionary<string, PendingIq> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(XName Payload, IqType Type), IqHandler> _handlers = new();
    /// <summary>Requests whose handlers returned a task still running, until answered.</summary>
    private readonly ConcurrentDictionary<HandledRequest, byte> _answering = new();

    /// <summary>
    /// The request whose handler the read loop is running now, if any (the read loop handles one stanza at a time). Most
    /// handlers answer at once (disco, IBB blocks): they cost this one field, not an entry in <see cref="_answering"/>.
    /// </summary>
    private HandledRequest? _inHandler;

    /// <summary>
    /// Taking a request out of <see cref="_answering"/> and queueing its answer are one step under this lock, so a close that
    /// takes it once knows that every request gone from the set has its answer queued (else a continuation could have taken
    /// one out and not yet queued it when the closing tag goes). Taken once per late answer, and by a close; the queueing
    /// never waits.
    /// </summary>
    private readonly Lock _answerGate = new();
    private readonly List<IXmppExtension> _extensions = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private XmppTransport? _transport;
    private Task? _readLoop;
    private int _disposed;

    protected XmppSession(ILoggerFactory? loggerFactory, TimeSpan defaultIqTimeout, TimeSpan outgoingQueueTimeout)
    {
        if (defaultIqTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(defaultIqTimeout), "The IQ timeout must be positive.");
        }

        if (outgoingQueueTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(outgoingQueueTimeout), "The outgoing queue timeout must be positive.");
        }

        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger(GetType());
        DefaultIqTimeout = defaultIqTimeout;
        OutgoingQueueTimeout = outgoingQueueTimeout;
        Disco = new ServiceDiscoveryManager(this);
    }

    /// <summary>Our own address on this stream: the bound full JID of a client, the domain of a component.</summary>
    public Jid? LocalJid { get; protected set; }

    /// <summary>The logger factory extensions should use.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>How long <see cref="SendIqAsync"/> waits for an answer unless told otherwise.</summary>
    public TimeSpan DefaultIqTimeout { get; }

    /// <summary>How long <see cref="SendAsync"/> waits for room while the outgoing queue is full.</summary>
    public TimeSpan OutgoingQueueTimeout { get; }

    /// <summary>Service discovery: our identities and features, and queries to others.</summary>
    public ServiceDiscoveryManager Disco { get; }

    /// <summary>True while the stream is up.</summary>
    public bool IsConnected => _transport is not null && !_completion.Task.IsCompleted;

    /// <summary>Completes when the stream ends; faulted with the reason when it did not end at our request.</summary>
    public Task Completion => _completion.Task;

    /// <summary>A token cancelled when the session ends; handlers and extensions tie their work to it.</summary>
    public CancellationToken SessionToken => _shutdown.Token;

    /// <summary>Raised for every incoming message, in order, on the read loop (keep handlers short).</summary>
    public event Action<XElement>? MessageReceived;

    /// <summary>Raised for every incoming presence, in order, on the read loop.</summary>
    public event Action<XElement>? PresenceReceived;

    protected ILogger Logger { get; }

    /// <summary>
    /// Where the answer of a handler whose task completed later is sent from: the thread pool. Tests hold it to play a
    /// busy pool, where that continuation runs long after the handler has decided.
    /// </summary>
    internal TaskScheduler AnswerScheduler { get; set; } = TaskScheduler.Default;

    /// <summary>The namespace of our stream content (<c>jabber:client</c> or <c>jabber:component:accept</c>).</summary>
    protected abstract string StreamNamespace { get; }

    /// <summary>Plugs in a feature: it registers handlers and disco features.</summary>
    public void AddExtension(IXmppExtension extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        lock (_extensions)
        {
            if (_extensions.Contains(extension))
            {
                return;
            }

            _extensions.Add(extension);
        }

        extension.Attach(this);
    }

    /// <summary>The first attached extension of a type, if any.</summary>
    public T? GetExtension<T>()
        where T : class, IXmppExtension
    {
        lock (_extensions)
        {
            return _extensions.OfType<T>().FirstOrDefault();
        }
    }

    /// <summary>
    /// Handles IQs of <paramref name="type"/> whose payload is <paramref name="payload"/>. Registering the
    /// same key again replaces the handler (registration is idempotent across reconnects).
    /// </summary>
    public void RegisterIqHandler(XName payload, IqType type, IqHandler handler)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(handler);
        if (type is not (IqType.Get or IqType.Set))
        {
            throw new ArgumentOutOfRangeException(nameof(type), "Only get and set requests have handlers.");
        }

        _handlers[(payload, type)] = handler;
    }

    /// <summary>Removes a handler registered with <see cref="RegisterIqHandler"/>.</summary>
    public void UnregisterIqHandler(XName payload, IqType type) => _handlers.TryRemove((payload, type), out _);

    /// <summary>
    /// Sends a stanza. Completes when it is queued for the wire, at once unless the outgoing queue is full (the server
    /// is not reading what we send): then it waits for room, at most <see cref="OutgoingQueueTimeout"/> (an
    /// <see cref="XmppException"/> of kind <see cref="XmppErrorKind.Timeout"/>). Stanzas sent one after another, even
    /// without awaiting each, go out in call order. Throws <see cref="XmppConnectionException"/> when the stream is gone.
    /// </summary>
    public ValueTask SendAsync(XElement stanza, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        cancellationToken.ThrowIfCancellationRequested();
        PrepareOutgoing(stanza);
        var transport = _transport;
        if (transport is null || _completion.Task.IsCompleted)
        {
            throw new XmppConnectionException(XmppErrorKind.Closed, "The XMPP stream is closed.");
        }

        return transport.EnqueueAsync(stanza, OutgoingQueueTimeout, cancellationToken);
    }

    /// <summary>
    /// Sends an IQ get or set and waits for its result, at most <paramref name="timeout"/> (default:
    /// <see cref="DefaultIqTimeout"/>, which includes any wait for room in the outgoing queue). Returns the result stanza; throws
    /// <see cref="XmppStanzaErrorException"/> for an error answer and an <see cref="XmppException"/>
    /// of kind <see cref="XmppErrorKind.Timeout"/> when no answer came in time.
    /// </summary>
    public Task<XElement> SendIqAsync(XElement iq, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(iq);
        var type = Stanza.GetIqType(iq);
        if (type is not (IqType.Get or IqType.Set))
        {
            return Task.FromException<XElement>(new ArgumentException("Only IQ get and set stanzas expect an answer.", nameof(iq)));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<XElement>(cancellationToken);
        }

        var id = (string?)iq.Attribute("id");
        if (string.IsNullOrEmpty(id))
        {
            id = Stanza.NewId();
            iq.SetAttributeValue("id", id);
        }

        var wait = timeout ?? DefaultIqTimeout;
        if ((wait <= TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan) || wait.TotalMilliseconds > uint.MaxValue - 1)
        {
            return Task.FromException<XElement>(new ArgumentOutOfRangeException(nameof(timeout), "The IQ timeout must be positive (or infinite) and below 49 days."));
        }

        // The limit is set before the request is in the table, where the read loop and a close find it: until then only the
        // limit itself (a cancelled token, a session already ended) can end it.
        var pending = new PendingIq(this, id, Stanza.GetTo(iq), iq.Elements().FirstOrDefault()?.Name.LocalName ?? "iq", wait, cancellationToken);
        pending.StartLimit(_shutdown.Token);
        if (!_pending.TryAdd(id, pending))
        {
            pending.Finish(new InvalidOperationException($"An IQ with id '{id}' is already waiting for its answer."));
            return pending.Task;
        }

        if (pending.IsEnded)
        {
            // Ended by its limit before it was in the table, so its own removal found nothing to remove.
            _pending.TryRemove(new KeyValuePair<string, PendingIq>(id, pending));
            return pending.Task;
        }

        // From here every end (answer, timeout, cancel, closed stream, failed send) goes through the pending request.
        try
        {
            // The wait for room in a full outgoing queue counts against the IQ's own timeout too.
            var sending = SendAsync(iq, pending.Limit);
            if (!sending.IsCompletedSuccessfully)
            {
                _ = CompleteSendAsync(sending, pending);
            }
        }
        catch (Exception ex)
        {
            pending.Finish(ex);
        }

        return pending.Task;
    }

    /// <summary>A send that waited for room in the queue: its failure is the request's, unless the request already ended.</summary>
    private static async Task CompleteSendAsync(ValueTask sending, PendingIq pending)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (pending.Limit.IsCancellationRequested)
        {
            // The limit ended the request, with the reason it decided (timeout, cancel or closed stream).
        }
        catch (Exception ex)
        {
            pending.Finish(ex);
        }
    }

    /// <summary>Why a request's limit fired: the caller's cancel, the session's end, or no answer in time.</summary>
    private Exception LimitReached(PendingIq pending)
    {
        if (pending.CallerToken.IsCancellationRequested)
        {
            return new TaskCanceledException(null, null, pending.CallerToken);
        }

        if (_shutdown.IsCancellationRequested || _completion.Task.IsCompleted)
        {
            return ClosedException();
        }

        return new XmppException(
            XmppErrorKind.Timeout,
            $"No answer to the {pending.Payload} request sent to {pending.To?.ToString() ?? "the server"} within {pending.Wait.TotalSeconds:0.#} s.");
    }

    /// <summary>Closes the stream politely (our closing tag, a short wait for the peer's) and releases the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await CloseAsync(null).ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the read and write loops over a negotiated transport.</summary>
    private protected void StartSession(XmppTransport transport)
    {
        _transport = transport;
        transport.StartWriter();
        _readLoop = Task.Run(ReadLoopAsync);
        _ = ObserveWriterAsync(transport);
    }

    /// <summary>Stamps what the stream type requires (components must set <c>from</c>).</summary>
    private protected virtual void PrepareOutgoing(XElement stanza)
    {
    }

    /// <summary>Ends the session: optional stream error, closing tag, bounded wait for the peer's close, socket closed.</summary>
    private protected async Task CloseAsync(XmppException? reason, XElement? streamError = null)
    {
        var transport = _transport;
        if (reason is null && transport is not null)
        {
            await SendDecidedAnswersAsync().ConfigureAwait(false);
        }

        if (reason is null)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(reason);
        }

        FailPending(reason ?? ClosedException());
        if (transport is not null)
        {
            await transport.CloseStreamAsync(streamError, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            if (_readLoop is not null && reason is null)
            {
                // RFC 6120 §4.4: give the peer a moment to close its side of the stream too.
                try
                {
                    await _readLoop.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The peer did not close in time or the connection failed: we close anyway.
                }
            }

            await _shutdown.CancelAsync().ConfigureAwait(false);
            await transport.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task ObserveWriterAsync(XmppTransport transport)
    {
        try
        {
            await transport.WriterCompletion.ConfigureAwait(false);
        }
        catch (XmppException ex)
        {
            CoreLog.StreamEnded(Logger, ex.Message);
            await CloseAsync(ex).ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync()
    {
        var transport = _transport!;
        XmppException? failure = null;
        XElement? errorToSend = null;
        try
        {
            while (true)
            {
                var element = await transport.Reader.ReadElementAsync(_shutdown.Token).ConfigureAwait(false);
                if (element is null)
                {
                    break;
                }

                Dispatch(element);
            }
        }
        catch (XmppStreamErrorException ex) when (ex.SentByUs)
        {
            failure = ex;
            errorToSend = StreamError.Create(ex.Condition, ex.Text);
        }
        catch (XmppException ex)
        {
            failure = ex;
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            if (_shutdown.IsCancellationRequested || _completion.Task.IsCompleted)
            {
                return;
            }

            failure = new XmppConnectionException(XmppErrorKind.Connection, "The connection dropped: " + ex.Message, ex);
        }

        if (failure is null && !_completion.Task.IsCompleted)
        {
            failure = new XmppConnectionException(XmppErrorKind.Closed, "The peer closed the stream.");
        }

        if (failure is not null)
        {
            CoreLog.StreamEnded(Logger, failure.Message);
        }

        _ = CloseAsync(failure, errorToSend);
    }

    private void Dispatch(XElement element)
    {
        if (element.Name == Stanza.Iq)
        {
            DispatchIq(element);
        }
        else if (element.Name == Stanza.Message)
        {
            RaiseListener(MessageReceived, element);
        }
        else if (element.Name == Stanza.Presence)
        {
            RaiseListener(PresenceReceived, element);
        }
        else if (element.Name == StreamError.Name)
        {
            var (condition, text) = StreamError.Parse(element);
            throw new XmppStreamErrorException(condition, text, sentByUs: false);
        }

        // Anything else at the top level (e.g. stream management we did not enable) is ignored.
    }

    private void RaiseListener(Action<XElement>? listener, XElement element)
    {
        if (listener is null)
        {
            return;
        }

        foreach (var handler in listener.GetInvocationList().Cast<Action<XElement>>())
        {
            try
            {
                handler(element);
            }
            catch (Exception ex)
            {
                CoreLog.ListenerFailed(Logger, ex);
            }
        }
    }

    private void DispatchIq(XElement iq)
    {
        var type = Stanza.GetIqType(iq);
        var id = (string?)iq.Attribute("id");
        switch (type)
        {
            case IqType.Result or IqType.Error:
                if (id is not null && _pending.TryGetValue(id, out var pending) && IsExpectedResponder(pending.To, Stanza.GetFrom(iq)))
                {
                    pending.Answer(iq);
                }
                else
                {
                    CoreLog.UnmatchedResponse(Logger, id ?? "(none)", (string?)iq.Attribute("from") ?? "(none)");
                }

                break;
            case IqType.Get or IqType.Set:
                if (id is null || iq.Elements().Count() != 1)
                {
                    Reply(Stanza.MakeError(iq, StanzaError.BadRequest("An IQ request needs an id and exactly one payload.")));
                    break;
                }

                HandleRequest(iq, type.Value);
                break;
            default:
                // RFC 6120 §8.2.3: an IQ without a valid type is answered with bad-request.
                if (id is not null)
                {
                    Reply(Stanza.MakeError(iq, StanzaError.BadRequest("Unknown IQ type.")));
                }

                break;
        }
    }

    private void HandleRequest(XElement iq, IqType type)
    {
        var payload = iq.Elements().First();
        if (!_handlers.TryGetValue((payload.Name, type), out var handler))
        {
            CoreLog.UnhandledIq(Logger, type.ToString(), payload.Name.ToString());
            Reply(Stanza.MakeError(iq, StanzaError.ServiceUnavailable()));
            return;
        }

        // Tracked from before the handler runs until answered, so that a polite close sends an answer decided just before
        // it (an offer declined, then the program exits) itself, rather than leave it to the read loop or a continuation
        // the thread pool may run too late: see SendDecidedAnswersAsync. Order matters: a request is in _answering before
        // it leaves _inHandler, and the close reads them the other way round, so it never misses one.
        var request = new HandledRequest(iq, payload);
        Volatile.Write(ref _inHandler, request);
        ValueTask<XElement?> task;
        try
        {
            task = handler(iq, _shutdown.Token);
        }
        catch (Exception ex)
        {
            task = ValueTask.FromException<XElement?>(ex);
        }

        if (task.IsCompleted)
        {
            // Answered at once (disco, most IBB blocks): queued before a close waiting for this request hears it has decided.
            Reply(task.IsCompletedSuccessfully ? Stanza.MakeResult(iq, task.Result) : ErrorReply(iq, payload, task.AsTask().Exception?.InnerException));
            request.SetHandler(s_answered);
            Volatile.Write(ref _inHandler, null);
            return;
        }

        _answering.TryAdd(request, 0);
        request.SetHandler(task.AsTask());
        Volatile.Write(ref _inHandler, null);
        _ = request.Handler!.ContinueWith(
            static (_, state) =>
            {
                var (session, request) = ((XmppSession, HandledRequest))state!;
                session.Answer(request);
            },
            (this, request),
            CancellationToken.None,
            TaskContinuationOptions.DenyChildAttach,
            AnswerScheduler);
    }

    /// <summary>
    /// The first step of a polite close: answers the requests whose handlers have decided, whether or not the continuation
    /// that would send the answer has run, so their answers go out before our closing tag. Handlers still waiting for
    /// someone (an offer nobody has looked at) get <see cref="s_answerGrace"/> to decide; those that have not by then stay
    /// unanswered, as RFC 6120 leaves requests open when a stream closes: their requesters' own timeouts cover them.
    /// </summary>
    private async Task SendDecidedAnswersAsync()
    {
        // _inHandler first: a request that has left it is in _answering already (or answered).
        var running = Volatile.Read(ref _inHandler);
        var undecided = _answering.Keys.Append(running).OfType<HandledRequest>().Where(r => !r.IsDecided).Select(r => r.DecidedAsync()).ToList();
        if (undecided.Count > 0)
        {
            // SuppressThrowing: a handler that failed has decided too (an error answer); the grace running out is no error.
            await Task.WhenAll(undecided).WaitAsync(s_answerGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        foreach (var request in _answering.Keys.Where(r => r.IsDecided))
        {
            Answer(request);
        }

        // A continuation that took its request out before the loop above has queued its answer once this lock is free.
        lock (_answerGate)
        {
        }
    }

    /// <summary>Sends the answer of a handler that has completed, once: from its continuation or from a close, whichever comes first.</summary>
    private void Answer(HandledRequest request)
    {
        lock (_answerGate)
        {
            if (!_answering.TryRemove(request, out _))
            {
                return;
            }

            var handler = request.Handler!;
            Reply(handler.IsCompletedSuccessfully
                ? Stanza.MakeResult(request.Iq, handler.Result)
                : ErrorReply(request.Iq, request.Payload, handler.Exception?.InnerException));
        }
    }

    private XElement ErrorReply(XElement iq, XElement payload, Exception? exception)
    {
        if (exception is XmppStanzaErrorException stanzaError)
        {
            return Stanza.MakeError(iq, stanzaError.Error);
        }

        // No exception: the handler's task was cancelled, which says no more than an OperationCanceledException.
        if (exception is not (null or OperationCanceledException))
        {
            CoreLog.HandlerFailed(Logger, exception, payload.Name.ToString());
        }

        return Stanza.MakeError(iq, StanzaError.InternalServerError());
    }

    private void Reply(XElement reply)
    {
        try
        {
            PrepareOutgoing(reply);

            // Never waits: this runs on the read loop, and a read loop waiting for the peer to read while the peer
            // waits for us to read would deadlock both. The requester's own timeout covers a dropped answer.
            if (_transport?.TryEnqueue(reply) == EnqueueResult.Full)
            {
                CoreLog.ReplyDropped(Logger, (string?)reply.Attribute("id") ?? "(none)", (string?)reply.Attribute("to") ?? "(none)");
            }
        }
        catch (XmppException)
        {
            // The stream is gone; nobody is waiting for this answer any more.
        }
    }

    private bool IsExpectedResponder(Jid? requestedTo, Jid? from)
    {
        // RFC 6120 §8.1.2.1: a request to our server (no 'to', our domain, or our bare JID) may be answered
        // without a 'from' or with any of those addresses; anything else must come from where we sent it.
        var local = LocalJid;
        bool IsOurs(Jid? jid) => jid is null || (local is not null && (jid == local.Bare || jid == local || (jid.IsBare && jid.Local is null && jid.Domain == local.Domain)));
        if (IsOurs(requestedTo))
        {
            return IsOurs(from);
        }

        return from is not null && from == requestedTo;
    }

    private void FailPending(XmppException reason)
    {
        foreach (var entry in _pending)
        {
            entry.Value.Finish(reason);
        }
    }

    private static XmppConnectionException ClosedException() => new(XmppErrorKind.Closed, "The XMPP stream closed before the answer arrived.");

    /// <summary>An IQ request until it is answered. Compared by reference: ids of different peers may repeat.</summary>
    private sealed class HandledRequest(XElement iq, XElement payload)
    {
        private readonly Lock _gate = new();
        private Task<XElement?>? _handler;
        private TaskCompletionSource? _returned;

        public XElement Iq { get; } = iq;

        public XElement Payload { get; } = payload;

        /// <summary>The handler's task; null while its synchronous part runs on the read loop.</summary>
        public Task<XElement?>? Handler => Volatile.Read(ref _handler);

        /// <summary>True once the handler has its answer, whether or not it has been sent.</summary>
        public bool IsDecided => Handler is { IsCompleted: true };

        public void SetHandler(Task<XElement?> handler)
        {
            lock (_gate)
            {
                Volatile.Write(ref _handler, handler);
                _returned?.TrySetResult();
            }
        }

        /// <summary>Completes when the handler has returned and decided (never faults).</summary>
        public Task DecidedAsync()
        {
            Task returned;
            lock (_gate)
            {
                if (_handler is { } handler)
                {
                    return handler;
                }

                // Rare (a close while the read loop is inside this handler): the signal is made only for it.
                returned = (_returned ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            return AfterReturnAsync(returned);
        }

        private async Task AfterReturnAsync(Task returned)
        {
            await returned.ConfigureAwait(false);
            await ((Task)Handler!).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// An IQ request until it ends: answer, timeout, cancel, closed stream or failed send, whichever comes first. The answer
    /// completes <see cref="Task"/> on the read loop as it is read (its continuations run on the pool), before any later
    /// stanza is dispatched: a caller woken by a later presence or close finds the request already complete.
    /// </summary>
    private sealed class PendingIq(XmppSession session, string id, Jid? to, string payload, TimeSpan wait, CancellationToken callerToken)
    {
        private readonly TaskCompletionSource<XElement> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenSource? _limit;
        private CancellationTokenRegistration _limitReached;
        private int _finished;

        /// <summary>Where it was sent (null: our server), the only address allowed to answer.</summary>
        public Jid? To { get; } = to;

        /// <summary>The payload's name, for the timeout's message.</summary>
        public string Payload { get; } = payload;

        public TimeSpan Wait { get; } = wait;

        public CancellationToken CallerToken { get; } = callerToken;

        public Task<XElement> Task => _completion.Task;

        /// <summary>Cancelled by the caller's token, the session's end or the timeout (readable after the source is disposed).</summary>
        public CancellationToken Limit { get; private set; }

        /// <summary>True once an end has been decided (its task may complete a moment later).</summary>
        public bool IsEnded => Volatile.Read(ref _finished) != 0;

        /// <summary>Called once, before the request is published: nothing but the limit can end it meanwhile.</summary>
        public void StartLimit(CancellationToken sessionEnd)
        {
            _limit = CancellationTokenSource.CreateLinkedTokenSource(CallerToken, sessionEnd);
            _limit.CancelAfter(Wait);
            Limit = _limit.Token;

            // Runs at once, inside the register, when a token is already cancelled.
            _limitReached = Limit.UnsafeRegister(static state => ((PendingIq)state!).OnLimitReached(), this);
        }

        public void Answer(XElement iq)
        {
            if (Stanza.GetIqType(iq) == IqType.Error)
            {
                Finish(new XmppStanzaErrorException(StanzaError.Parse(iq), Stanza.GetFrom(iq) ?? To));
            }
            else if (TryEnd())
            {
                _completion.TrySetResult(iq);
                Release();
            }
        }

        public void Finish(Exception failure)
        {
            if (TryEnd())
            {
                _completion.TrySetException(failure);
                Release();
            }
        }

        private void OnLimitReached()
        {
            if (TryEnd())
            {
                var failure = session.LimitReached(this);
                if (failure is TaskCanceledException)
                {
                    _completion.TrySetCanceled(CallerToken);
                }
                else
                {
                    _completion.TrySetException(failure);
                }

                // Inside the limit's own cancellation (the registration has run, and may still be being stored by StartLimit):
                // the source is disposed once that is over, which also ends the registration.
                ThreadPool.UnsafeQueueUserWorkItem(static limit => limit.Dispose(), _limit!, preferLocal: false);
            }
        }

        /// <summary>Out of the table at once, so the id can be used again as soon as the caller sees the end.</summary>
        private bool TryEnd()
        {
            if (Interlocked.Exchange(ref _finished, 1) != 0)
            {
                return false;
            }

            session._pending.TryRemove(new KeyValuePair<string, PendingIq>(id, this));
            return true;
        }

        /// <summary>An end other than the limit's: only after <see cref="StartLimit"/> returned (the request was published).</summary>
        private void Release()
        {
            _limitReached.Dispose();
            _limit!.Dispose();
        }
    }
}
