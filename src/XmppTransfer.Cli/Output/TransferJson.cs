using System.Globalization;
using System.Text.Json;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>The one-line JSON record of a finished transfer (stable field names; see docs/cli.md).</summary>
internal static class TransferJson
{
    public static string Ok(FileTransferResult result) => Write(w =>
    {
        w.WriteString("result", "ok");
        w.WriteString("file", result.Path ?? result.FileName);
        w.WriteNumber("bytes", result.Size);
        w.WriteNumber("transferred", result.BytesTransferred);
        w.WriteNumber("seconds", Math.Round(result.Duration.TotalSeconds, 3));
        w.WriteString("method", result.Method.ToShortName());
        w.WriteString("sha256", result.Sha256);
        w.WriteBoolean("verified", result.Verified);
        w.WriteString("peer", result.Peer.ToString());
        w.WriteString("sid", result.Sid);
        w.WriteNull("error");
    });

    public static string Error(string? file, string? peer, string? sid, string error) => NotReceived("error", file, peer, sid, error);

    /// <summary>
    /// An offer that waited in the queue past its offer timeout and was declined for us: never accepted, so not a failure.
    /// The same fields as <see cref="Error"/>, the reason in <c>error</c>, so readers keyed on the fields need no change.
    /// </summary>
    public static string Expired(string file, string peer, string sid, string reason) => NotReceived("expired", file, peer, sid, reason);

    /// <summary>
    /// An offer this receiver declined itself (<c>--decline</c>, <c>--accept-from</c>, <c>--max-size</c>): the fields of
    /// <see cref="Error"/>, the reason as a sentence in <c>error</c>, and the option that declined it in <c>reason</c>.
    /// </summary>
    public static string Declined(string file, string peer, string sid, string reason, string error) => NotReceived("declined", file, peer, sid, error, reason);

    private static string NotReceived(string outcome, string? file, string? peer, string? sid, string error, string? reason = null) => Write(w =>
    {
        w.WriteString("result", outcome);
        w.WriteString("file", file);
        w.WriteNumber("bytes", 0);
        w.WriteNumber("seconds", 0);
        w.WriteNull("method");
        w.WriteNull("sha256");
        w.WriteString("peer", peer);
        w.WriteString("sid", sid);
        w.WriteString("error", error);
        if (reason is not null)
        {
            w.WriteString("reason", reason);
        }
    });

    public static string FormatRate(double bytesPerSecond) => (bytesPerSecond / (1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB/s";

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
