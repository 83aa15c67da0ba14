using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using XmppTransfer.FileTransfer.Oob;

namespace XmppTransfer.FileTransfer.Tests.Oob;

/// <summary>Our out-of-band HTTP server against clients that are slow, hostile or simply not the receiver.</summary>
public sealed class OobHttpServerTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-oob-http-").FullName;
    private readonly HttpClient _http = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_client_that_connects_and_sends_nothing_is_closed_after_the_request_headers_timeout()
    {
        await using var server = await StartAsync(100_000, OobOptions.Default with { RequestHeadersTimeout = TimeSpan.FromSeconds(1) });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Url.Port, TestContext.Current.CancellationToken);

        // Kestrel's default would keep it for 130 s; the timeout is checked once a second.
        var answer = await ReadToCloseAsync(client.GetStream()).WaitAsync(TimeSpan.FromSeconds(8), TestContext.Current.CancellationToken);
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task A_connection_beyond_the_limit_is_closed_at_once_while_the_others_stay_open()
    {
        await using var server = await StartAsync(100_000);
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < OobHttpServer.MaxConnections; i++)
            {
                var open = new TcpClient();
                idle.Add(open);
                await open.ConnectAsync(IPAddress.Loopback, server.Url.Port, TestContext.Current.CancellationToken);
            }

            // The idle ones would be closed only after the request headers timeout (10 s): well past this cap.
            using var extra = new TcpClient();
            await extra.ConnectAsync(IPAddress.Loopback, server.Url.Port, TestContext.Current.CancellationToken);
            Assert.Equal(string.Empty, await ReadToCloseAsync(extra.GetStream()).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));

            // The ones within the limit were left open: the first still gets the file.
            var first = idle[0].GetStream();
            await first.WriteAsync(Encoding.ASCII.GetBytes($"GET {server.Url.PathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), TestContext.Current.CancellationToken);
            Assert.StartsWith("HTTP/1.1 200", await ReadToCloseAsync(first).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_request_with_headers_over_the_limit_gets_431_and_is_closed()
    {
        await using var server = await StartAsync(100_000);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Url.Port, TestContext.Current.CancellationToken);
        var request = $"GET {server.Url.PathAndQuery} HTTP/1.1\r\nHost: x\r\nX-Padding: {new string('a', 2 * OobHttpServer.MaxHeaderBytes)}\r\n\r\n";
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request), TestContext.Current.CancellationToken);

        var answer = await ReadToCloseAsync(client.GetStream()).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.StartsWith("HTTP/1.1 431 ", answer, StringComparison.Ordinal);
        Assert.Equal(0, server.BytesServed);
    }

    [Fact]
    public async Task A_range_beyond_the_end_gets_416_naming_the_files_length()
    {
        await using var server = await StartAsync(100_000);
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Url);
        request.Headers.Range = new RangeHeaderValue(200_000, null);
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal(100_000, response.Content.Headers.ContentRange?.Length);
        Assert.False(server.ServedInFull);
    }

    [Theory]
    [InlineData("/0123456789abcdef0123456789abcdef/file.bin")]
    [InlineData("/file.bin")]
    [InlineData("/")]
    public async Task A_path_other_than_the_one_time_path_gets_404(string path)
    {
        await using var server = await StartAsync(100_000);
        using var response = await _http.GetAsync(new Uri(server.Url, path), TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        // Another name under the one-time token is no better.
        using var other = await _http.GetAsync(new Uri(server.Url, "other.bin"), TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(0, server.BytesServed);
    }

    [Fact]
    public async Task A_second_download_while_the_first_is_served_gets_503_and_one_after_it_is_served()
    {
        // Larger than loopback socket buffers hold: the first download is still served while its body is not read.
        const int Size = 32 * 1024 * 1024;
        await using var server = await StartAsync(Size);
        using var first = await _http.GetAsync(server.Url, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var second = await _http.GetAsync(server.Url, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);

        var body = await first.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(Size, body.Length);
        Assert.True(await server.FinishServingAsync(s_cap, TimeProvider.System, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken));

        using var third = await _http.GetAsync(server.Url, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task A_client_that_stops_reading_the_body_is_cut_off_and_frees_the_download_for_the_next()
    {
        // Larger than loopback socket buffers hold: the server's writes wait on this reader.
        await using var server = await StartAsync(32 * 1024 * 1024, OobOptions.Default with { InactivityTimeout = TimeSpan.FromSeconds(1) });
        using var stalled = await _http.GetAsync(server.Url, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, stalled.StatusCode);

        // Kestrel's own minimum rate would allow minutes.
        Assert.False(await server.FinishServingAsync(s_cap, TimeProvider.System, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken));
        Assert.False(server.IsServing);

        using var next = await _http.GetAsync(server.Url, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.True(server.ServedInFull);
    }

    [Fact]
    public async Task A_range_that_stops_short_of_the_last_byte_is_not_a_download_in_full()
    {
        await using var server = await StartAsync(100_000);
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Url);
        request.Headers.Range = new RangeHeaderValue(0, 49_999);
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.False(await server.FinishServingAsync(s_cap, TimeProvider.System, TestContext.Current.CancellationToken).WaitAsync(s_cap, TestContext.Current.CancellationToken));
    }

    private Task<OobHttpServer> StartAsync(int size, OobOptions? options = null)
    {
        var path = TransferTestKit.MakeFile(_root, "file.bin", size);
        return OobHttpServer.StartAsync(path, "file.bin", options ?? OobOptions.Default, _ => { }, TestContext.Current.CancellationToken).WaitAsync(s_cap);
    }

    /// <summary>Everything the server sends until it closes the connection (a reset counts as closed).</summary>
    private static async Task<string> ReadToCloseAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0 && text.Length < 1024 * 1024)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
            // Reset rather than closed: closed all the same.
        }

        return text.ToString();
    }
}
