using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>
/// Downloads an OOB URL with HttpClient: only http/https (redirects too), optionally refusing private
/// and loopback addresses (checked on the resolved address at connect time, so DNS cannot sneak
/// around it), a size cap, an inactivity deadline, and resume with Range into an existing partial.
/// </summary>
internal sealed class OobDownloader : IDisposable
{
    private readonly HttpClient _http;
    private readonly OobOptions _options;

    public OobDownloader(OobOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            ConnectTimeout = options.ConnectTimeout,
            ConnectCallback = ConnectAsync,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// Downloads into <paramref name="target"/> from <paramref name="offset"/> (a Range request when
    /// above zero). Returns the total size the server reported and whether it honoured the range.
    /// </summary>
    public async Task<(long? TotalSize, bool Resumed)> DownloadAsync(
        Uri url, FileStream target, long offset, IncrementalHash sha256, Action<long> onProgress, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        using var inactivity = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        inactivity.CancelAfter(_options.InactivityTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, inactivity.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FileTransferException(FileTransferErrorKind.Timeout, $"{url.Host} did not answer within {_options.InactivityTimeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"Downloading {url} failed: {ex.Message}", ex);
        }

        using (response)
        {
            var final = response.RequestMessage?.RequestUri ?? url;
            if (final.Scheme != Uri.UriSchemeHttp && final.Scheme != Uri.UriSchemeHttps)
            {
                throw new FileTransferException(FileTransferErrorKind.Refused, "The download was redirected away from http/https; refused.");
            }

            var resumed = offset > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!response.IsSuccessStatusCode)
            {
                throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"Downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
            }

            if (offset > 0 && !resumed)
            {
                // The server ignored the range: start over and rehash from nothing.
                target.SetLength(0);
                target.Position = 0;
                sha256.GetHashAndReset();
                offset = 0;
            }

            long? total = resumed ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength;
            if (total is { } size && _options.MaxDownloadBytes is { } max && size > max)
            {
                throw new FileTransferException(FileTransferErrorKind.Refused, $"The file is {size} bytes, over the limit of {max}.");
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
                try
                {
                    var written = offset;
                    while (true)
                    {
                        inactivity.CancelAfter(_options.InactivityTimeout);
                        int read;
                        try
                        {
                            read = await stream.ReadAsync(buffer, inactivity.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                        {
                            throw new FileTransferException(FileTransferErrorKind.Timeout, $"The download from {url.Host} stalled for {_options.InactivityTimeout.TotalSeconds:0} s.");
                        }
                        catch (Exception ex) when (ex is IOException or HttpRequestException)
                        {
                            throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"The download from {url.Host} broke off after {written} bytes: {ex.Message}", ex);
                        }

                        if (read == 0)
                        {
                            break;
                        }

                        written += read;
                        if ((total is { } expected && written > expected) || (_options.MaxDownloadBytes is { } cap && written > cap))
                        {
                            throw new FileTransferException(FileTransferErrorKind.IntegrityCheckFailed, $"{url.Host} sent more bytes than it announced; stopped.");
                        }

                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        sha256.AppendData(buffer, 0, read);
                        onProgress(written);
                    }

                    if (total is { } announced && written != announced)
                    {
                        throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"{url.Host} announced {announced} bytes but sent {written}.");
                    }

                    return (total ?? written, resumed);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
        if (!_options.AllowPrivateNetworks)
        {
            addresses = addresses.Where(a => !IsPrivate(a)).ToArray();
            if (addresses.Length == 0)
            {
                throw new HttpRequestException(
                    $"{context.DnsEndPoint.Host} is a loopback or private address; refusing to download from it (allow private networks to permit LAN transfers).");
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] == 0;
        }

        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal;
    }
}
