using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace XmppTransfer.Server.Tests;

/// <summary>
/// A client session driven byte by byte (STARTTLS, PLAIN, bind), so a test can log in and then simply stop reading,
/// which no real client does on purpose. Its socket has a small receive buffer so that little data hides in the kernel.
/// </summary>
internal sealed class RawTlsSession : IAsyncDisposable
{
    private readonly SslStream _tls;

    private RawTlsSession(SslStream tls) => _tls = tls;

    public static async Task<RawTlsSession> LoginAsync(ServerHarness harness, string user, string resource)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8 * 1024 };
        await socket.ConnectAsync(harness.Server.ClientEndPoint).WaitAsync(ServerHarness.Cap);
        var plain = new NetworkStream(socket, ownsSocket: true);
        await WriteAsync(plain, ServerHarness.Header());
        await ReadUntilAsync(plain, "features>");
        await WriteAsync(plain, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        await ReadUntilAsync(plain, "<proceed");

        var pin = harness.Server.CertificateSha256;
        var tls = new SslStream(plain, leaveInnerStreamOpen: false);
        var session = new RawTlsSession(tls);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = ServerHarness.Domain,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null
                    && string.Equals(string.Join(':', SHA256.HashData(certificate.GetRawCertData()).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture))), pin, StringComparison.OrdinalIgnoreCase),
            }).WaitAsync(ServerHarness.Cap);
            await WriteAsync(tls, ServerHarness.Header());
            await ReadUntilAsync(tls, "features>");
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + user + "\0" + ServerHarness.Password));
            await WriteAsync(tls, $"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>");
            await ReadUntilAsync(tls, "<success");
            await WriteAsync(tls, ServerHarness.Header());
            await ReadUntilAsync(tls, "features>");
            await WriteAsync(tls, $"<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>");
            await ReadUntilAsync(tls, "</iq>");
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads everything until the server closes the connection, at most <paramref name="timeout"/>.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        try
        {
            while (await _tls.ReadAsync(buffer, cts.Token) is var read and > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
            // A close without TLS close_notify: the end all the same.
        }

        return text.ToString();
    }

    public ValueTask DisposeAsync() => _tls.DisposeAsync();

    private static async Task WriteAsync(Stream stream, string xml) =>
        await stream.WriteAsync(Encoding.UTF8.GetBytes(xml)).AsTask().WaitAsync(ServerHarness.Cap);

    private static async Task ReadUntilAsync(Stream stream, string marker)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!text.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(ServerHarness.Cap);
            if (read == 0)
            {
                throw new IOException($"The server closed the stream before '{marker}': {text}");
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }
}
