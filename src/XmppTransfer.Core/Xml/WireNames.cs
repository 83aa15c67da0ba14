using System.Collections.Concurrent;
using System.Reflection;
using System.Xml.Linq;

namespace XmppTransfer.Core.Xml;

/// <summary>
/// Turns names read off the wire into <see cref="XName"/>s without letting a peer grow the process without end.
/// LINQ to XML keeps every name ever made in a namespace for as long as that namespace lives, and some live for the whole
/// process: no namespace (every plain attribute), the stream's content namespace (<c>jabber:client</c>, where any child
/// without <c>xmlns</c> lands) and every namespace of <see cref="Namespaces"/>, which static names of ours hold. A name
/// in another namespace goes when the last element using it goes. So new names in those long-lived namespaces are
/// counted, process-wide, and past the budget a stanza that brings yet another one is refused (<c>policy-violation</c>);
/// names met before stay usable. Real traffic uses a few hundred.
/// </summary>
internal sealed class WireNames(int maxNames, long maxChars)
{
    private static readonly HashSet<string> s_lasting = LastingNamespaces();
    private readonly ConcurrentDictionary<(string Namespace, string Local), XName> _admitted = new();
    private int _names;
    private long _chars;

    /// <summary>The budget every stream of the process shares: 10,000 names, 1 M characters of them.</summary>
    public static WireNames Shared { get; } = new(10_000, 1_000_000);

    /// <summary>The name, or null when it would be new in a long-lived namespace and the budget is spent.</summary>
    public XName? TryGet(string localName, string namespaceName)
    {
        if (!s_lasting.Contains(namespaceName))
        {
            return XName.Get(localName, namespaceName);
        }

        if (_admitted.TryGetValue((namespaceName, localName), out var known))
        {
            return known;
        }

        if (!TryReserve(localName.Length))
        {
            // Spent for good: only names already admitted get through from now on.
            return null;
        }

        var name = XName.Get(localName, namespaceName);
        if (!_admitted.TryAdd((namespaceName, localName), name))
        {
            // Another stream admitted it at the same moment: counted once.
            Release(localName.Length);
        }

        return name;
    }

    private bool TryReserve(int length)
    {
        var names = Interlocked.Increment(ref _names);
        var chars = Interlocked.Add(ref _chars, length);
        if (names <= maxNames && chars <= maxChars)
        {
            return true;
        }

        Release(length);
        return false;
    }

    private void Release(int length)
    {
        Interlocked.Decrement(ref _names);
        Interlocked.Add(ref _chars, -length);
    }

    private static HashSet<string> LastingNamespaces()
    {
        var lasting = new HashSet<string>(StringComparer.Ordinal) { string.Empty, XNamespace.Xml.NamespaceName, XNamespace.Xmlns.NamespaceName };
        foreach (var field in typeof(Namespaces).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.IsLiteral && field.GetRawConstantValue() is string uri)
            {
                lasting.Add(uri);
            }
        }

        return lasting;
    }
}
