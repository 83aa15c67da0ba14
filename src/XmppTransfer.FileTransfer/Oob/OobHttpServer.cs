using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>
/// Serves one file over HTTP (Kestrel) under an unguessable path, with Range support so the receiver can resume, until the
/// owner stops it. One download at a time: a second request for the file while one is served gets 503 with Retry-After (it
/// would double the load, and is no download of ours: our receiver makes one request per offer). Counts the bytes served for
/// progress, and knows whether a download is under way and whether one served the file through its last byte, which is what
/// the sender needs when its XMPP session ends before the receiver's answer (<see cref="FinishServingAsync"/>).
/// A client that is slow or hostile is bounded by Kestrel's limits, set here: <see cref="OobOptions.RequestHeadersTimeout"/>
/// for a request to arrive (and between requests), <see cref="MaxHeaderBytes"/> of headers (else 431), at most
/// <see cref="MaxConnections"/> connections at once, and Kestrel's default minimum rate for a reader of the body
/// (240 bytes/s after a 5 s grace, else the connection is closed).
/// </summary>
internal sealed class OobHttpServer : IAsyncDisposable
{
    /// <summary>The request line and headers together may hold this much (Kestrel's default is 32 KiB): ours send a few hundred bytes.</summary>
    internal const int MaxHeaderBytes = 8 * 1024;

    /// <summary>Connections open at once; Kestrel closes any more at once (one download is served at a time anyway).</summary>
    internal const int MaxConnections = 16;

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private TaskCompletionSource _idle = NewIdle(completed: true);
    private long _bytesServed;
    private bool _serving;
    private bool _servedInFull;

    private readonly TimeSpan _inactivity;

    private OobHttpServer(WebApplication app, TimeSpan inactivity)
    {
        _app = app;
        _inactivity = inactivity;
    }

    public Uri Url { get; private set; } = null!;

    public long BytesServed => Interlocked.Read(ref _bytesServed);

    /// <summary>True while a download is being served.</summary>
    public bool IsServing
    {
        get
        {
            lock (_gate)
            {
                return _serving;
            }
        }
    }

    /// <summary>True once a download served the file through its last byte and its response completed.</summary>
    public bool ServedInFull => Volatile.Read(ref _servedInFull);

    public static async Task<OobHttpServer> StartAsync(string path, string fileName, OobOptions options, Action<long> onServed, CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(options.ListenAddress, options.Port);
            kestrel.AddServerHeader = false;

            // Kestrel waits for the first request under either timeout, depending on the version: both bound a client that
            // connects and sends nothing (or too little) to the same time.
            kestrel.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = options.RequestHeadersTimeout;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxHeaderBytes;
            kestrel.Limits.MaxRequestLineSize = MaxHeaderBytes;
            kestrel.Limits.MaxConcurrentConnections = MaxConnections;
            kestrel.Limits.MaxRequestBodySize = 0;
        });
        var app = builder.Build();
        var server = new OobHttpServer(app, options.InactivityTimeout);
        var escapedName = Uri.EscapeDataString(fileName);
        app.MapGet($"/{token}/{{name}}", (HttpContext context, string name) => server.ServeAsync(context, name == fileName ? path : null, onServed));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound).Port;
        var host = options.PublicHost ?? options.ListenAddress.ToString();
        if (IPAddress.TryParse(host, out var literal) && literal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            host = "[" + host + "]";
        }

        server.Url = new Uri($"http://{host}:{port}/{token}/{escapedName}");
        return server;
    }

    /// <summary>
    /// After our XMPP session ended: waits while a download is served, until it ends (a silent one is cut after
    /// <see cref="OobOptions.InactivityTimeout"/>, see <see cref="ServeAsync"/>) or until <paramref name="deadline"/> has
    /// passed. Returns whether a download served the file through its last byte (the receiver may then have it all, but
    /// could not tell us). Returns at once when none is under way.
    /// </summary>
    public async Task<bool> FinishServingAsync(TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        Task idle;
        lock (_gate)
        {
            idle = _idle.Task;
        }

        try
        {
            if (deadline == Timeout.InfiniteTimeSpan)
            {
                await idle.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (deadline > TimeSpan.Zero)
            {
                // WaitAsync takes at most about 49 days.
                await idle.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(deadline.TotalMilliseconds, uint.MaxValue - 1)), time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // The serve deadline passed: the download is cut when the server stops.
        }

        return ServedInFull;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A download still running is cut; the receiver sees a short body.
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            idle.SetResult();
        }

        return idle;
    }

    /// <summary>One request for the one-time path: the file (whole or a range), 404 for another name, 503 while busy.</summary>
    private async Task ServeAsync(HttpContext context, string? path, Action<long> onServed)
    {
        if (path is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        lock (_gate)
        {
            if (_serving)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                return;
            }

            _serving = true;
            _idle = NewIdle(completed: false);
        }

        try
        {
            // A client that reads nothing more (bytes are read from the file only as the socket takes them) holds the one
            // download: it is cut after the inactivity timeout. Kestrel's own minimum rate allows a stalled write its size
            // divided by 240 bytes/s, minutes for one buffer.
            using var watch = new InactivityWatchdog(_inactivity, context.RequestAborted);
            using var cut = watch.Token.Register(static state => ((HttpContext)state!).Abort(), context);
            var stream = new CountingFileStream(path, n =>
            {
                onServed(Interlocked.Add(ref _bytesServed, n));
                watch.Touch();
            });
            await using (stream.ConfigureAwait(false))
            {
                // Read before the result disposes the stream: an empty file is whole without a read.
                var empty = stream.Length == 0;
                await Results.Stream(stream, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(context).ConfigureAwait(false);
                await context.Response.CompleteAsync().ConfigureAwait(false);

                // A range that ends before the last byte, or a 416, is no whole download; a client gone midway is none either.
                if ((stream.ReachedEnd || empty) && context.Response.StatusCode is StatusCodes.Status200OK or StatusCodes.Status206PartialContent
                    && !context.RequestAborted.IsCancellationRequested)
                {
                    Volatile.Write(ref _servedInFull, true);
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _serving = false;
                _idle.TrySetResult();
            }
        }
    }

    /// <summary>A read-only file stream that reports every byte read (and so served), and whether a read reached the end.</summary>
    private sealed class CountingFileStream(string path, Action<int> onRead)
        : FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan)
    {
        private bool _reachedEnd;

        public bool ReachedEnd => Volatile.Read(ref _reachedEnd);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await base.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Read(n);
            return n;
        }

        public override int Read(byte[] array, int offset, int count)
        {
            var n = base.Read(array, offset, count);
            Read(n);
            return n;
        }

        private void Read(int n)
        {
            onRead(n);
            if (Position >= Length)
            {
                Volatile.Write(ref _reachedEnd, true);
            }
        }
    }
}
