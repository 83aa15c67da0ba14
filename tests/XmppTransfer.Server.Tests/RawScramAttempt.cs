using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace XmppTransfer.Server.Tests;

/// <summary>
/// One SCRAM-SHA-256 login driven by hand over plain TCP (the server must not require TLS), so a test can stop between
/// the two round trips: hold many attempts at the proof, or drop the connection there.
/// <code>
/// C: &lt;auth mechanism='SCRAM-SHA-256'&gt;n,,n=USER,r=CNONCE&lt;/auth&gt;   S: &lt;challenge&gt;r=CNONCE+SNONCE,s=SALT,i=N&lt;/challenge&gt;
/// C: &lt;response&gt;c=biws,r=CNONCE+SNONCE,p=PROOF&lt;/response&gt;         S: &lt;success/&gt; or &lt;failure&gt;&lt;CONDITION/&gt;&lt;/failure&gt;
/// </code>
/// </summary>
internal sealed partial class RawScramAttempt : IAsyncDisposable
{
    private const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();
    private string? _nonce;

    private RawScramAttempt(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Connects, opens the stream and sends client-first for <paramref name="user"/>; returns once server-first is in.</summary>
    public static async Task<RawScramAttempt> StartAsync(ServerHarness harness, string user)
    {
        var attempt = new RawScramAttempt(await harness.RawConnectAsync());
        try
        {
            await attempt.WriteAsync(ServerHarness.Header());
            await attempt.ReadUntilAsync("</stream:features>");
            var clientFirst = Convert.ToBase64String(Encoding.UTF8.GetBytes($"n,,n={user},r=rawclientnonce"));
            await attempt.WriteAsync($"<auth xmlns='{Sasl}' mechanism='SCRAM-SHA-256'>{clientFirst}</auth>");
            var challenge = ChallengePattern().Match(await attempt.ReadUntilAsync("</challenge>"));
            var serverFirst = Encoding.UTF8.GetString(Convert.FromBase64String(challenge.Groups[1].Value));
            attempt._nonce = serverFirst.Split(',')[0][2..];
            return attempt;
        }
        catch
        {
            await attempt.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a proof of the right length that matches no password; returns the failure's condition.</summary>
    public async Task<string> SendWrongProofAsync()
    {
        var proof = Convert.ToBase64String(new byte[32]);
        var clientFinal = Convert.ToBase64String(Encoding.UTF8.GetBytes($"c=biws,r={_nonce},p={proof}"));
        await WriteAsync($"<response xmlns='{Sasl}'>{clientFinal}</response>");
        var answer = await ReadUntilAsync("</failure>");
        return FailurePattern().Match(answer).Groups[1].Value;
    }

    /// <summary>Closes the connection at once, mid-exchange.</summary>
    public ValueTask DisposeAsync()
    {
        _socket.Close(0);
        return _stream.DisposeAsync();
    }

    private async Task WriteAsync(string xml) =>
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(xml)).AsTask().WaitAsync(ServerHarness.Cap);

    // Returns what arrived up to and including the marker; the rest stays for the next read.
    private async Task<string> ReadUntilAsync(string marker)
    {
        var buffer = new byte[4096];
        int at;
        while ((at = _received.ToString().IndexOf(marker, StringComparison.Ordinal)) < 0)
        {
            var read = await _stream.ReadAsync(buffer).AsTask().WaitAsync(ServerHarness.Cap);
            if (read == 0)
            {
                throw new IOException($"The server closed the stream before '{marker}': {_received}");
            }

            _received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        var text = _received.ToString(0, at + marker.Length);
        _received.Remove(0, at + marker.Length);
        return text;
    }

    [GeneratedRegex("<challenge[^>]*>([^<]*)</challenge>")]
    private static partial Regex ChallengePattern();

    [GeneratedRegex("<failure[^>]*><([a-z-]+)")]
    private static partial Regex FailurePattern();
}
