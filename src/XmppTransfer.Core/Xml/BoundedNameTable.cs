using System.Xml;

namespace XmppTransfer.Core.Xml;

/// <summary>
/// The XML reader's table of atomized names (element and attribute names, prefixes, namespace URIs), bounded. The reader
/// keeps every distinct name it meets for the life of the stream, and an XMPP stream can last for days: a peer sending a
/// fresh name in every stanza would grow it without end (hundreds of MB in seconds with long names). Past a bound the
/// stream ends with <c>policy-violation</c>; a real peer uses a few hundred names.
/// </summary>
internal sealed class BoundedNameTable(XmlLimits limits) : NameTable
{
    private int _names;
    private long _chars;

    public override string Add(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (Get(key) is { } known)
        {
            return known;
        }

        Admit(key.Length);
        return base.Add(key);
    }

    public override string Add(char[] key, int start, int len)
    {
        if (Get(key, start, len) is { } known)
        {
            return known;
        }

        Admit(len);
        return base.Add(key, start, len);
    }

    private void Admit(int length)
    {
        if (length > limits.MaxNameLength)
        {
            throw new XmlLimitExceededException($"A name or namespace of {length} characters (at most {limits.MaxNameLength}).");
        }

        _names++;
        _chars += length;
        if (_names > limits.MaxDistinctNames || _chars > limits.MaxDistinctNameChars)
        {
            throw new XmlLimitExceededException(
                $"More distinct names and namespaces in one stream than {limits.MaxDistinctNames} (or {limits.MaxDistinctNameChars} characters of them).");
        }
    }
}
