namespace XmppTransfer.Core.Xml;

/// <summary>Bounds on what a peer may send us in one stanza.</summary>
public sealed record XmlLimits
{
    /// <summary>
    /// Defaults: 256 KiB per stanza (room for 64 KiB IBB blocks in base64), depth 32, 64 attributes per element, names of
    /// up to 512 characters, 4,096 distinct names per stream (128 K characters of them).
    /// </summary>
    public static XmlLimits Default { get; } = new();

    /// <summary>Maximum bytes of one stanza, including the bytes before it since the previous stanza ended.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>Maximum element nesting inside one stanza.</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>
    /// Maximum attributes on one element (namespace declarations included). XMPP elements carry a handful; the bound also
    /// keeps building an element linear (LINQ to XML checks each new attribute against those before it).
    /// </summary>
    public int MaxAttributes { get; init; } = 64;

    /// <summary>Maximum characters of one element or attribute name, prefix or namespace URI.</summary>
    public int MaxNameLength { get; init; } = 512;

    /// <summary>
    /// Maximum distinct names, prefixes and namespace URIs in one stream: the XML reader keeps each for the life of the
    /// stream (see <see cref="BoundedNameTable"/>).
    /// </summary>
    public int MaxDistinctNames { get; init; } = 4096;

    /// <summary>Maximum characters of the distinct names of one stream, all together.</summary>
    public long MaxDistinctNameChars { get; init; } = 128 * 1024;

    /// <summary>The process-wide budget of names in long-lived namespaces (<see cref="WireNames"/>); tests use their own.</summary>
    internal WireNames Names { get; init; } = WireNames.Shared;
}
