using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace XmppTransfer.FileTransfer.Oob;

/// <summary>
/// Downloads an OOB URL with HttpClient: only http/https (redirects too), optionally refusing private
/// and loopback addresses (checked on the resolved address at connect time, so DNS cannot sneak
/// around it), a size cap, an inactivity deadline, and resume with Range into an existing partial.
/// The body goes to the part file through the receive pipeline (<see cref="OobDownload.CopyToAsync"/>).
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
    /// Sends the GET (a Range request from <paramref name="offset"/> when above zero) and checks the answer: still http or
    /// https after redirects, a success status, a size within the limit. A server that ignores the range answers with the
    /// whole file, which then starts at 0 (<see cref="OobDownload.Offset"/>); so does one that refuses the range (416) because
    /// the file is no longer than <paramref name="offset"/>: it is asked once more, for the whole file. The wait for each
    /// answer and every later read are bounded by the inactivity timeout (the connect by its own).
    /// </summary>
    public async Task<OobDownload> StartAsync(Uri url, long offset, CancellationToken cancellationToken)
    {
        var watchdog = new InactivityWatchdog(_options.InactivityTimeout, cancellationToken);
        HttpResponseMessage? response = null;
        try
        {
            response = await RequestAsync(url, offset, watchdog, cancellationToken).ConfigureAwait(false);
            if (offset > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // RFC 9110 §15.5.17: a 416 names the file's current length (Content-Range: bytes */LENGTH). One no greater
                // than the offset means nothing of the file lies past the part we hold: the part is as long as the file or
                // longer, so there is nothing to continue (the caller asks for a range only after the part's hash failed to
                // prove it the whole file). Start over, once: this request has no range, so it cannot end here again. Any
                // other 416 proves nothing about the part, which is kept.
                var length = response.Content.Headers.ContentRange is { HasRange: false, HasLength: true } unsatisfied ? unsatisfied.Length : null;
                if (length is not { } whole || whole > offset)
                {
                    throw new FileTransferException(
                        FileTransferErrorKind.TransferFailed,
                        $"Downloading {url} failed: HTTP 416, the server would not send the bytes from {offset} on"
                        + (length is null ? " and did not say how long the file is" : $" although it says the file is {length} bytes")
                        + $"; the {offset} bytes already here are kept (delete the .part file to download the whole file again).");
                }

                response.Dispose();
                response = null;
                offset = 0;
                watchdog.Touch();
                response = await RequestAsync(url, offset, watchdog, cancellationToken).ConfigureAwait(false);
            }

            var final = response.RequestMessage?.RequestUri ?? url;
            if (final.Scheme != Uri.UriSchemeHttp && final.Scheme != Uri.UriSchemeHttps)
            {
                throw new FileTransferException(FileTransferErrorKind.Refused, "The download was redirected away from http/https; refused.");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"Downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
            }

            var headers = response.Content.Headers;
            var resumed = offset > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (resumed && headers.ContentRange?.From != offset)
            {
                throw new FileTransferException(
                    FileTransferErrorKind.TransferFailed, $"Downloading {url} failed: asked for the bytes from {offset}, answered with {headers.ContentRange?.ToString() ?? "no range"}.");
            }

            // Not resumed: the server ignored the range and sends the whole file, from 0.
            var start = resumed ? offset : 0;
            var total = resumed ? headers.ContentRange!.Length : headers.ContentLength;
            if (total is { } size && _options.MaxDownloadBytes is { } max && size > max)
            {
                throw new FileTransferException(FileTransferErrorKind.Refused, $"The file is {size} bytes, over the limit of {max}.");
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var download = new OobDownload(response, body, watchdog, url, start, total, _options.MaxDownloadBytes);
            response = null;
            watchdog = null;
            return download;
        }
        finally
        {
            response?.Dispose();
            watchdog?.Dispose();
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>One GET (with a Range from <paramref name="offset"/> when above zero), up to its response headers.</summary>
    private async Task<HttpResponseMessage> RequestAsync(Uri url, long offset, InactivityWatchdog watchdog, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watchdog.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FileTransferException(FileTransferErrorKind.Timeout, $"{url.Host} did not answer within {_options.InactivityTimeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException ex) when (ex.InnerException is PrivateAddressRefusedException refused)
        {
            // The handler wraps our refusal as "message (host:port)"; say it once, as one sentence.
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"Refusing to download {url}: {refused.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new FileTransferException(FileTransferErrorKind.TransferFailed, $"Downloading {url} failed: {ex.Message}", ex);
        }
    }

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
                throw new PrivateAddressRefusedException(context.DnsEndPoint.Host);
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

    /// <summary>
    /// IPv4 addresses that are not global unicast: the IANA special-purpose blocks that are not globally reachable
    /// (RFC 6890 and its successors), multicast, and the reserved block with the limited broadcast address.
    /// </summary>
    private static readonly IPNetwork[] s_notGlobalV4 =
    [
        IPNetwork.Parse("0.0.0.0/8"), // "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
        IPNetwork.Parse("10.0.0.0/8"), // private (RFC 1918)
        IPNetwork.Parse("100.64.0.0/10"), // shared address space, carrier-grade NAT (RFC 6598)
        IPNetwork.Parse("127.0.0.0/8"), // loopback
        IPNetwork.Parse("169.254.0.0/16"), // link-local (RFC 3927), cloud metadata services
        IPNetwork.Parse("172.16.0.0/12"), // private (RFC 1918)
        IPNetwork.Parse("192.0.0.0/24"), // IETF protocol assignments (RFC 6890): DS-Lite, NAT64 discovery
        IPNetwork.Parse("192.0.2.0/24"), // documentation, TEST-NET-1 (RFC 5737)
        IPNetwork.Parse("192.88.99.0/24"), // 6to4 relay anycast, deprecated (RFC 7526): no web server there
        IPNetwork.Parse("192.168.0.0/16"), // private (RFC 1918)
        IPNetwork.Parse("198.18.0.0/15"), // benchmarking (RFC 2544)
        IPNetwork.Parse("198.51.100.0/24"), // documentation, TEST-NET-2 (RFC 5737)
        IPNetwork.Parse("203.0.113.0/24"), // documentation, TEST-NET-3 (RFC 5737)
        IPNetwork.Parse("224.0.0.0/4"), // multicast (RFC 5771)
        IPNetwork.Parse("240.0.0.0/4"), // reserved (RFC 1112), with 255.255.255.255, the limited broadcast (RFC 919)
    ];

    /// <summary>
    /// IPv6 addresses that are not global unicast (IANA special-purpose registry, not globally reachable), and multicast.
    /// IPv6 addresses that carry an IPv4 address are judged by it too (<see cref="EmbeddedIPv4"/>).
    /// </summary>
    private static readonly IPNetwork[] s_notGlobalV6 =
    [
        IPNetwork.Parse("::/128"), // unspecified
        IPNetwork.Parse("::1/128"), // loopback
        IPNetwork.Parse("64:ff9b:1::/48"), // NAT64 for local use (RFC 8215), whatever it embeds
        IPNetwork.Parse("100::/64"), // discard-only (RFC 6666)
        IPNetwork.Parse("2001::/23"), // IETF protocol assignments (RFC 2928), less the global ones below: benchmarking, ORCHID, ...
        IPNetwork.Parse("2001:db8::/32"), // documentation (RFC 3849)
        IPNetwork.Parse("3fff::/20"), // documentation (RFC 9637)
        IPNetwork.Parse("5f00::/16"), // SRv6 SIDs (RFC 9602)
        IPNetwork.Parse("fc00::/7"), // unique-local (RFC 4193)
        IPNetwork.Parse("fe80::/10"), // link-local
        IPNetwork.Parse("fec0::/10"), // site-local, deprecated (RFC 3879)
        IPNetwork.Parse("ff00::/8"), // multicast (RFC 4291)
    ];

    /// <summary>
    /// The blocks inside <c>2001::/23</c> that the IANA registry marks globally reachable (anycast services, AMT, AS112,
    /// ORCHIDv2, DRIP), and Teredo, which is judged by the addresses it carries (<see cref="EmbeddedIPv4"/>).
    /// </summary>
    private static readonly IPNetwork[] s_globalInIetfBlockV6 =
    [
        IPNetwork.Parse("2001::/32"), // Teredo (RFC 4380)
        IPNetwork.Parse("2001:1::1/128"), // Port Control Protocol anycast (RFC 7723)
        IPNetwork.Parse("2001:1::2/128"), // TURN anycast (RFC 8155)
        IPNetwork.Parse("2001:1::3/128"), // DNS-SD service registration anycast (RFC 9665)
        IPNetwork.Parse("2001:3::/32"), // AMT (RFC 7450)
        IPNetwork.Parse("2001:4:112::/48"), // AS112-v6 (RFC 7535)
        IPNetwork.Parse("2001:20::/28"), // ORCHIDv2 (RFC 7343)
        IPNetwork.Parse("2001:30::/28"), // DRIP entity tags (RFC 9374)
    ];

    /// <summary>
    /// Not a public unicast address: loopback, unspecified, private, shared (CGNAT), link-local, unique-local, multicast,
    /// broadcast, reserved, benchmarking, documentation or discard (<see cref="s_notGlobalV4"/>, <see cref="s_notGlobalV6"/>).
    /// An IPv6 address that carries an IPv4 address (see <see cref="EmbeddedIPv4"/>) is judged by that address too, since it
    /// can lead there.
    /// </summary>
    internal static bool IsPrivate(IPAddress address)
    {
        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        if (v4 || !Array.Exists(s_globalInIetfBlockV6, block => block.Contains(address)))
        {
            foreach (var block in v4 ? s_notGlobalV4 : s_notGlobalV6)
            {
                if (block.Contains(address))
                {
                    return true;
                }
            }
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Span<byte> v6 = stackalloc byte[16];
            address.TryWriteBytes(v6, out _);
            foreach (var embedded in EmbeddedIPv4(v6))
            {
                if (IsPrivate(embedded))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The IPv4 addresses an IPv6 address carries and may be routed to: IPv4-mapped <c>::ffff:0:0/96</c>, IPv4-compatible
    /// <c>::/96</c> (deprecated, still parsed), NAT64 <c>64:ff9b::/96</c> (RFC 6052), 6to4 <c>2002::/16</c> (RFC 3056:
    /// bits 16-47), Teredo <c>2001::/32</c> (RFC 4380: the server in bits 32-63, the client inverted in the last 32), and
    /// under any prefix an ISATAP interface identifier (RFC 5214: <c>0000:5efe</c>, or <c>0200:5efe</c> with the
    /// universal bit, then the IPv4 address in the last 32 bits).
    /// </summary>
    private static List<IPAddress> EmbeddedIPv4(ReadOnlySpan<byte> v6)
    {
        var found = new List<IPAddress>(2);
        var last32 = v6[12..];
        if (v6[..10].IndexOfAnyExcept((byte)0) < 0 && ((v6[10] == 0xff && v6[11] == 0xff) || (v6[10] == 0 && v6[11] == 0)))
        {
            found.Add(new IPAddress(last32));
        }
        else if (v6[..12].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
        {
            found.Add(new IPAddress(last32));
        }
        else if (v6[0] == 0x20 && v6[1] == 0x02)
        {
            found.Add(new IPAddress(v6[2..6]));
        }
        else if (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0 && v6[3] == 0)
        {
            found.Add(new IPAddress(v6[4..8]));
            Span<byte> client = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
            {
                client[i] = (byte)~last32[i];
            }

            found.Add(new IPAddress(client));
        }

        // The u and g bits of the first byte may be set; the rest of the 32 bits is fixed.
        if ((v6[8] & 0xfc) == 0 && v6[9] == 0 && v6[10] == 0x5e && v6[11] == 0xfe)
        {
            found.Add(new IPAddress(last32));
        }

        return found;
    }
}
