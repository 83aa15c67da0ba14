using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer;

/// <summary>What happened in a completed transfer.</summary>
public sealed record FileTransferResult
{
    public required Jid Peer { get; init; }

    public required string Sid { get; init; }

    /// <summary>The file name as offered (sender) or as saved (receiver, full path in <see cref="Path"/>).</summary>
    public required string FileName { get; init; }

    /// <summary>Where the file is (receiver) or was read from (sender, when sent from a path).</summary>
    public string? Path { get; init; }

    public required TransferMethod Method { get; init; }

    /// <summary>The whole file size.</summary>
    public required long Size { get; init; }

    /// <summary>Bytes that crossed the network in this run (less than Size after a resume).</summary>
    public required long BytesTransferred { get; init; }

    /// <summary>Bytes skipped because the receiver already had them (XEP-0096 range).</summary>
    public long ResumedFrom { get; init; }

    /// <summary>From the receiver's answer to the last byte.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Lowercase hex SHA-256 of the whole file.</summary>
    public string? Sha256 { get; init; }

    /// <summary>
    /// Lowercase hex MD5 of the whole file (the legacy SI hash attribute). A receiver computes it only when the offer carries
    /// an MD5 and no SHA-256 (the one case it is needed to verify); otherwise it is null.
    /// </summary>
    public string? Md5 { get; init; }

    /// <summary>
    /// True when the receiver compared the hashes with the offer and they matched. Always false on the sender: nothing in SI
    /// or out-of-band transfers tells it whether the receiver checked (it learns only that the bytes were taken).
    /// </summary>
    public bool Verified { get; init; }
}
