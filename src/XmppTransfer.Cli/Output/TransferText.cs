using System.Globalization;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Output;

/// <summary>The plain (not <c>--json</c>) result line of a finished file, on stdout; both sides say when the transfer resumed.</summary>
internal static class TransferText
{
    /// <summary>"sent a.bin to bob@example.org/laptop: 1048576 bytes in 0.52 s by s5b-direct, sha256 ...".</summary>
    public static string Sent(FileTransferResult result) =>
        $"sent {result.FileName} to {result.Peer}: {Body(result)}";

    /// <summary>"received a (1).bin from alice@example.org/desk: ..., resumed at byte 524288 (0.5 MiB), sha256 ... (verified)".</summary>
    public static string Received(FileTransferResult result) =>
        $"received {result.FileName} from {result.Peer}: {Body(result)}{(result.Verified ? " (verified)" : string.Empty)}";

    private static string Body(FileTransferResult result) => string.Create(
        CultureInfo.InvariantCulture,
        $"{result.Size} bytes in {result.Duration.TotalSeconds:0.00} s by {result.Method.ToShortName()}{Resumed(result.ResumedFrom)}{Sha256(result.Sha256)}");

    /// <summary>", sha256 HEX", or nothing when nobody hashed the file (<c>--no-hash</c>): an empty "sha256 " reads as a hash lost.</summary>
    private static string Sha256(string? hex) => string.IsNullOrEmpty(hex) ? string.Empty : ", sha256 " + hex;

    /// <summary>
    /// ", resumed at byte N (X MiB)" when the receiver already had the first N bytes: the exact offset, as the size is given,
    /// and in MiB to read at a glance. Nothing when the file came whole.
    /// </summary>
    internal static string Resumed(long offset) =>
        offset > 0 ? string.Create(CultureInfo.InvariantCulture, $", resumed at byte {offset} ({MiBColumns.Format(offset)} MiB)") : string.Empty;
}
