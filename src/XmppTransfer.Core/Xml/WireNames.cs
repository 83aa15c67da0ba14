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
/// names met before stay usable. Real traffic uses a few hundred. A stream whose peer has not authenticated yet adds no
/// names at all (<c>admitNew</c> false): it gets the few a login needs, and names others brought, so that nobody can
/// spend the budget without an account.
/// </summary>
internal sealed class WireNames
{
    private static readonly HashSet<string> s_lasting = LastingNamespaces();
    private static readonly string[] s_streamErrorConditions =
    [
        "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone", "host-unknown", "improper-addressing",
        "internal-server-error", "invalid-from", "invalid-namespace", "invalid-xml", "not-authorized", "not-well-formed",
        "policy-violation", "remote-connection-failed", "reset", "resource-constraint", "restricted-xml", "see-other-host",
        "system-shutdown", "undefined-condition", "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type",
        "unsupported-version", "text",
    ];
    private readonly ConcurrentDictionary<(string Namespace, string Local), XName> _admitted = new();
    private readonly int _maxNames;
    private readonly long _maxChars;
    private int _names;
    private long _chars;

    public WireNames(int maxNames, long maxChars)
    {
        _maxNames = maxNames;
        _maxChars = maxChars;

        // What a client or component sends before it has authenticated (RFC 6120 §5, §6; XEP-0114), not counted.
        (string Namespace, string Local)[] beforeLogin =
        [
            (Namespaces.Tls, "starttls"), (Namespaces.Sasl, "auth"), (Namespaces.Sasl, "response"), (Namespaces.Sasl, "abort"),
            (Namespaces.Client, "handshake"), (Namespaces.Client, "iq"), (Namespaces.Client, "message"), (Namespaces.Client, "presence"),
            (Namespaces.Streams, "error"), (string.Empty, "mechanism"), (string.Empty, "id"), (string.Empty, "type"),
            (string.Empty, "to"), (string.Empty, "from"), (XNamespace.Xml.NamespaceName, "lang"),
        ];
        foreach (var (ns, local) in beforeLogin)
        {
            _admitted[(ns, local)] = XName.Get(local, ns);
        }

        // A peer may end its stream with an error before it logs in (RFC 6120 §4.9.3).
        foreach (var condition in s_streamErrorConditions)
        {
            _admitted[(Namespaces.StreamErrors, condition)] = XName.Get(condition, Namespaces.StreamErrors);
        }
    }

    /// <summary>The budget every stream of the process shares: 10,000 names, 1 M characters of them.</summary>
    public static WireNames Shared { get; } = new(10_000, 1_000_000);

    /// <summary>
    /// The name, or null when it would be new in a long-lived namespace and the budget is spent or
    /// <paramref name="admitNew"/> is false (the peer has not authenticated).
    /// </summary>
    public XName? TryGet(string localName, string namespaceName, bool admitNew = true)
    {
        if (!s_lasting.Contains(namespaceName))
        {
            return XName.Get(localName, namespaceName);
        }

        if (_admitted.TryGetValue((namespaceName, localName), out var known))
        {
            return known;
        }

        if (!admitNew || !TryReserve(localName.Length))
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
        if (names <= _maxNames && chars <= _maxChars)
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
