namespace XmppTransfer.Core.Xml;

/// <summary>Bounds on what a peer may send us in one stanza.</summary>
public sealed record XmlLimits
{
    /// <summary>Defaults: 256 KiB per stanza (room for 64 KiB IBB blocks in base64), depth 32.</summary>
    public static XmlLimits Default { get; } = new();

    /// <summary>Maximum bytes of one stanza, including the bytes before it since the previous stanza ended.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>Maximum element nesting inside one stanza.</summary>
    public int MaxDepth { get; init; } = 32;
}
