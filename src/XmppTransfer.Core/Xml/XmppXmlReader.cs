using System.Xml;
using System.Xml.Linq;

namespace XmppTransfer.Core.Xml;

/// <summary>
/// Reads one XML stream (RFC 6120 §4): the opening tag, then each top-level child as an
/// <see cref="XElement"/>. DTDs, entities, comments and processing instructions are refused;
/// stanza size and depth are bounded. A new instance is made after every stream restart
/// (TLS, SASL), because the peer starts a new XML document then.
/// </summary>
internal sealed class XmppXmlReader : IDisposable
{
    private const string XmlnsNamespace = "http://www.w3.org/2000/xmlns/";
    private readonly CountingReadStream _input;
    private readonly XmlReader _reader;
    private readonly XmlLimits _limits;
    private string _contentNamespace = Namespaces.Client;
    private bool _inStanza;

    public XmppXmlReader(Stream transport, XmlLimits limits)
    {
        _limits = limits;
        _input = new CountingReadStream(transport, limits.MaxStanzaBytes);
        var settings = new XmlReaderSettings
        {
            Async = true,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = false,
            IgnoreProcessingInstructions = false,
            IgnoreWhitespace = false,
            CheckCharacters = true,
            CloseInput = false,
            MaxCharactersFromEntities = 1024,
            ConformanceLevel = ConformanceLevel.Document,
            NameTable = new BoundedNameTable(limits),
        };
        _reader = XmlReader.Create(_input, settings);
    }

    /// <summary>
    /// Whether names this process has not met yet may come in (<see cref="WireNames"/>): a server sets it false until the
    /// peer has authenticated, so that a stranger cannot spend the process-wide budget.
    /// </summary>
    public bool AdmitNewNames { get; set; } = true;

    /// <summary>Reads up to and including the peer's <c>&lt;stream:stream&gt;</c> tag.</summary>
    public async Task<StreamHeader> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        _input.ReadToken = cancellationToken;
        try
        {
            while (await _reader.ReadAsync().ConfigureAwait(false))
            {
                switch (_reader.NodeType)
                {
                    case XmlNodeType.XmlDeclaration:
                    case XmlNodeType.Whitespace:
                        continue;
                    case XmlNodeType.Element when _reader.LocalName == "stream" && _reader.NamespaceURI == Namespaces.Streams:
                        _contentNamespace = _reader.LookupNamespace(string.Empty) ?? Namespaces.Client;
                        var header = new StreamHeader(
                            _contentNamespace,
                            _reader.GetAttribute("id"),
                            _reader.GetAttribute("from"),
                            _reader.GetAttribute("to"),
                            _reader.GetAttribute("version"),
                            _reader.GetAttribute("xml:lang"));
                        if (_reader.IsEmptyElement)
                        {
                            throw Violation("bad-format", "The stream header was an empty element.");
                        }

                        _input.Mark();
                        return header;
                    case XmlNodeType.Element:
                        throw Violation("invalid-namespace", $"Expected <stream:stream>, got <{_reader.Name}>.");
                    default:
                        throw Violation("restricted-xml", $"Unexpected {_reader.NodeType} before the stream header.");
                }
            }

            throw new XmppConnectionException(XmppErrorKind.Closed, "The peer closed the connection before opening its stream.");
        }
        catch (XmlException ex) when (_input.ReachedEnd)
        {
            throw new XmppConnectionException(XmppErrorKind.Closed, "The peer closed the connection in the middle of its stream header.", ex);
        }
        catch (XmlException ex)
        {
            throw Violation("not-well-formed", "The peer sent malformed XML: " + ex.Message, ex);
        }
        catch (ArgumentException ex) when (ThrownByParser(ex))
        {
            throw ParserFailed(ex);
        }
        catch (XmlLimitExceededException ex)
        {
            throw Violation("policy-violation", ex.Message, ex);
        }
    }

    /// <summary>
    /// Reads the next top-level element; null when the peer closed its stream. Elements in the stream's
    /// content namespace (for example <c>jabber:component:accept</c>) are reported as <c>jabber:client</c>
    /// so that stanza handling is the same on every kind of stream.
    /// </summary>
    public async Task<XElement?> ReadElementAsync(CancellationToken cancellationToken)
    {
        _input.ReadToken = cancellationToken;
        try
        {
            while (await _reader.ReadAsync().ConfigureAwait(false))
            {
                switch (_reader.NodeType)
                {
                    case XmlNodeType.Element:
                        _inStanza = true;
                        var element = await ReadTreeAsync().ConfigureAwait(false);
                        _inStanza = false;
                        _input.Mark();
                        return element;
                    case XmlNodeType.EndElement:
                        return null;
                    case XmlNodeType.Whitespace:
                    case XmlNodeType.SignificantWhitespace:
                        // Whitespace keepalives between stanzas: legal, and a stanza boundary for the size count.
                        _input.Mark();
                        continue;
                    case XmlNodeType.Text:
                    case XmlNodeType.CDATA:
                        throw Violation("not-well-formed", "The peer sent text between stanzas.");
                    default:
                        throw Violation("restricted-xml", $"The peer sent a {_reader.NodeType}, which XMPP forbids.");
                }
            }

            return null;
        }
        catch (XmlException ex) when (_input.ReachedEnd)
        {
            // TCP closed under an open stream: the peer went away (a server shutting down often just closes), it did not
            // send bad XML, so there is nobody to send not-well-formed to. Between stanzas nothing was lost.
            throw new XmppConnectionException(
                XmppErrorKind.Closed,
                _inStanza
                    ? "The peer closed the connection in the middle of a stanza."
                    : "The peer closed the connection without closing its stream.",
                ex);
        }
        catch (XmlException ex)
        {
            throw Violation("not-well-formed", "The peer sent malformed XML: " + ex.Message, ex);
        }
        catch (ArgumentException ex) when (ThrownByParser(ex))
        {
            throw ParserFailed(ex);
        }
        catch (XmlLimitExceededException ex)
        {
            throw Violation("policy-violation", ex.Message, ex);
        }
    }

    public void Dispose()
    {
        try
        {
            _reader.Dispose();
        }
        catch (InvalidOperationException)
        {
            // A read is still pending on the socket being torn down; the socket's disposal ends it.
        }
    }

    private async Task<XElement> ReadTreeAsync()
    {
        var baseDepth = _reader.Depth;
        var root = StartElement();
        if (_reader.IsEmptyElement)
        {
            return root;
        }

        var current = root;
        while (await _reader.ReadAsync().ConfigureAwait(false))
        {
            switch (_reader.NodeType)
            {
                case XmlNodeType.Element:
                    if (_reader.Depth - baseDepth >= _limits.MaxDepth)
                    {
                        throw Violation("policy-violation", $"A stanza nested deeper than {_limits.MaxDepth} elements.");
                    }

                    var child = StartElement();
                    current.Add(child);
                    if (!_reader.IsEmptyElement)
                    {
                        current = child;
                    }

                    break;
                case XmlNodeType.EndElement:
                    if (current == root)
                    {
                        return root;
                    }

                    current = current.Parent!;
                    break;
                case XmlNodeType.Text:
                case XmlNodeType.CDATA:
                case XmlNodeType.Whitespace:
                case XmlNodeType.SignificantWhitespace:
                    // GetValueAsync: a lazily parsed text value read through .Value would block on the socket.
                    current.Add(new XText(await _reader.GetValueAsync().ConfigureAwait(false)));
                    break;
                default:
                    throw Violation("restricted-xml", $"The peer sent a {_reader.NodeType}, which XMPP forbids.");
            }
        }

        throw new XmppConnectionException(XmppErrorKind.Closed, "The connection closed in the middle of a stanza.");
    }

    private XElement StartElement()
    {
        if (_reader.AttributeCount > _limits.MaxAttributes)
        {
            throw new XmlLimitExceededException($"An element with {_reader.AttributeCount} attributes (at most {_limits.MaxAttributes}).");
        }

        var ns = _reader.NamespaceURI;
        if (ns == _contentNamespace)
        {
            ns = Namespaces.Client;
        }

        var element = new XElement(Name(_reader.LocalName, ns));
        if (_reader.MoveToFirstAttribute())
        {
            do
            {
                if (_reader.NamespaceURI == XmlnsNamespace)
                {
                    continue;
                }

                element.SetAttributeValue(Name(_reader.LocalName, _reader.NamespaceURI), _reader.Value);
            }
            while (_reader.MoveToNextAttribute());

            _reader.MoveToElement();
        }

        return element;
    }

    private XName Name(string localName, string namespaceName) =>
        _limits.Names.TryGet(localName, namespaceName, AdmitNewNames)
        ?? throw new XmlLimitExceededException(AdmitNewNames
            ? $"One more new name in {(namespaceName.Length == 0 ? "no namespace" : namespaceName)}: this process has taken in all the distinct names it keeps ({localName.Length} characters)."
            : $"A name in {(namespaceName.Length == 0 ? "no namespace" : namespaceName)} that has no place before authentication.");

    /// <summary>
    /// The parser failing with a runtime exception rather than an <see cref="XmlException"/>: some malformed input arriving
    /// in fragments does that (an XML declaration whose version has a non-ASCII character, split over reads, makes
    /// XmlTextReaderImpl copy a negative length: ArgumentOutOfRangeException). From a peer it is malformed XML all the same.
    /// </summary>
    /// <summary>
    /// Whether <paramref name="ex"/> came out of .NET's XML parser (the innermost frame outside the core library is in
    /// System.Xml), not out of our own tree building: only the parser's failure is the peer's malformed input; one of ours
    /// is a defect, left to the stream's catch-all (internal-server-error and a logged trace).
    /// </summary>
    private static bool ThrownByParser(ArgumentException ex)
    {
        var xml = typeof(XmlReader).Assembly;
        var core = typeof(object).Assembly;
        foreach (var frame in new System.Diagnostics.StackTrace(ex).GetFrames())
        {
            var assembly = frame.GetMethod()?.DeclaringType?.Assembly;
            if (assembly is not null && assembly != core)
            {
                return assembly == xml;
            }
        }

        return false;
    }

    private static XmppStreamErrorException ParserFailed(ArgumentException ex) =>
        Violation("not-well-formed", "The peer sent malformed XML that the parser could not read.", ex);

    private static XmppStreamErrorException Violation(string condition, string text, Exception? inner = null)
    {
        _ = inner;
        return new XmppStreamErrorException(condition, text, sentByUs: true);
    }
}
