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
/// Serves one file over HTTP (Kestrel) under an unguessable path, with Range support so the
/// receiver can resume, until the owner stops it. Counts the bytes served for progress.
/// </summary>
internal sealed class OobHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _bytesServed;

    private OobHttpServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public long BytesServed => Interlocked.Read(ref _bytesServed);

    public static async Task<OobHttpServer> StartAsync(string path, string fileName, OobOptions options, Action<long> onServed, CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(options.ListenAddress, options.Port));
        var app = builder.Build();
        OobHttpServer? server = null;
        var escapedName = Uri.EscapeDataString(fileName);
        app.MapGet($"/{token}/{{name}}", (HttpContext context, string name) =>
        {
            if (name != fileName)
            {
                return Results.NotFound();
            }

            var stream = new CountingFileStream(path, n => onServed(Interlocked.Add(ref server!._bytesServed, n)));
            return Results.Stream(stream, "application/octet-stream", enableRangeProcessing: true);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound).Port;
        var host = options.PublicHost ?? options.ListenAddress.ToString();
        if (IPAddress.TryParse(host, out var literal) && literal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            host = "[" + host + "]";
        }

        server = new OobHttpServer(app, new Uri($"http://{host}:{port}/{token}/{escapedName}"));
        return server;
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

    /// <summary>A read-only file stream that reports every byte read (and so served).</summary>
    private sealed class CountingFileStream(string path, Action<int> onRead)
        : FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await base.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            onRead(n);
            return n;
        }

        public override int Read(byte[] array, int offset, int count)
        {
            var n = base.Read(array, offset, count);
            onRead(n);
            return n;
        }
    }
}
