namespace XmppTransfer.FileTransfer.Si;

/// <summary>
/// The XEP-0096 <c>&lt;file/&gt;</c> of an offer: name and size are required; the rest optional.
/// <see cref="Md5"/> is the legacy hex <c>hash</c> attribute; <see cref="Sha256"/> travels as an
/// XEP-0300 <c>&lt;hash algo='sha-256'/&gt;</c> element (base64 on the wire).
/// </summary>
public sealed record FileOfferDescription(string Name, long Size)
{
    public DateTimeOffset? Date { get; init; }

    /// <summary>Lowercase hex MD5 of the whole file, or null.</summary>
    public string? Md5 { get; init; }

    /// <summary>SHA-256 of the whole file, or null.</summary>
    public byte[]? Sha256 { get; init; }

    public string? Description { get; init; }

    public string? MimeType { get; init; }

    /// <summary>The sender can resume (it sent an empty <c>&lt;range/&gt;</c>).</summary>
    public bool SupportsRange { get; init; }
}
