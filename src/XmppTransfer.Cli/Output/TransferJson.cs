using System.Globalization;
using System.Text.Json;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The one-line JSON record of each file <c>xft send</c> or <c>xft receive</c> is done with. Every line has the same fields,
/// with the same meaning whatever the result (the schema in docs/cli.md): a reader never needs to know the result kind to find
/// a field, and a field missing from a line is never how "unknown" is said (that is null, or 0 for a count).
/// </summary>
internal static class TransferJson
{
    public static string Ok(FileTransferResult result) => Write(new Fields(
        "ok",
        result.Path ?? result.FileName,
        result.Size,
        result.BytesTransferred,
        result.ResumedFrom,
        result.Duration,
        result.Method.ToShortName(),
        result.Sha256,
        result.Verified,
        result.Peer.ToString(),
        result.Sid,
        Error: null,
        Reason: null));

    /// <summary>A file that failed (or was cut by <c>--timeout</c>): what moved before it did, and why in <c>error</c>.</summary>
    public static string Error(TransferAttempt attempt, string error) => NotDone("error", attempt, error, null);

    /// <summary>
    /// An offer that waited in the queue past its offer timeout and was declined for us: never accepted, so not a failure.
    /// The reason is in <c>error</c>, as on every line that is not "ok".
    /// </summary>
    public static string Expired(TransferAttempt attempt, string error) => NotDone("expired", attempt, error, null);

    /// <summary>
    /// An offer this receiver declined itself (<c>--decline</c>, <c>--accept-from</c>, <c>--max-size</c>): the reason as a
    /// sentence in <c>error</c>, and the option that declined it in <c>reason</c>.
    /// </summary>
    public static string Declined(TransferAttempt attempt, string reason, string error) => NotDone("declined", attempt, error, reason);

    /// <summary>
    /// The file that was running when xft was interrupted (Ctrl-C, SIGTERM: exit code 130): not a failure of the transfer, so
    /// not an "error" line, and not left without a line either; what moved before is in the counts, the cause in <c>error</c>.
    /// </summary>
    public static string Cancelled(TransferAttempt attempt) => NotDone("cancelled", attempt, CancelledText, null);

    /// <summary>The <c>error</c> of a <see cref="Cancelled"/> line.</summary>
    public const string CancelledText = "cancelled (Ctrl-C or SIGTERM)";

    public static string FormatRate(double bytesPerSecond) => (bytesPerSecond / (1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB/s";

    private static string NotDone(string outcome, TransferAttempt attempt, string error, string? reason)
    {
        var last = attempt.LastProgress;
        return Write(new Fields(
            outcome,
            attempt.File,
            attempt.Bytes,
            attempt.Transferred,
            last?.ResumedFrom ?? 0,
            last?.Elapsed ?? TimeSpan.Zero,
            last?.Method?.ToShortName(),
            Sha256: null,
            Verified: false,
            attempt.Peer,
            attempt.Sid,
            error,
            reason));
    }

    private static string Write(Fields fields)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("result", fields.Result);
            w.WriteString("file", fields.File);
            WriteNumberOrNull(w, "bytes", fields.Bytes);
            w.WriteNumber("transferred", fields.Transferred);
            w.WriteNumber("resumed_from", fields.ResumedFrom);
            w.WriteNumber("seconds", Math.Round(fields.Duration.TotalSeconds, 3));
            w.WriteString("method", fields.Method);
            w.WriteString("sha256", fields.Sha256);
            w.WriteBoolean("verified", fields.Verified);
            w.WriteString("peer", fields.Peer);
            w.WriteString("sid", fields.Sid);
            w.WriteString("error", fields.Error);
            w.WriteString("reason", fields.Reason);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Every field of a line, in the order written.</summary>
    private sealed record Fields(
        string Result,
        string File,
        long? Bytes,
        long Transferred,
        long ResumedFrom,
        TimeSpan Duration,
        string? Method,
        string? Sha256,
        bool Verified,
        string? Peer,
        string? Sid,
        string? Error,
        string? Reason);
}
