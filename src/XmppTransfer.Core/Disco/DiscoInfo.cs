using System.Xml.Linq;

namespace XmppTransfer.Core.Disco;

/// <summary>A disco#info result: identities, features and extended-info forms.</summary>
public sealed record DiscoInfo(IReadOnlyList<DiscoIdentity> Identities, IReadOnlyList<string> Features, IReadOnlyList<XElement> Forms)
{
    public bool HasFeature(string feature) => Features.Contains(feature, StringComparer.Ordinal);

    public bool HasIdentity(string category, string type) =>
        Identities.Any(i => string.Equals(i.Category, category, StringComparison.Ordinal) && string.Equals(i.Type, type, StringComparison.Ordinal));

    internal static DiscoInfo Parse(XElement query)
    {
        var identities = query.Elements(XName.Get("identity", Namespaces.DiscoInfo))
            .Select(e => new DiscoIdentity(
                (string?)e.Attribute("category") ?? string.Empty,
                (string?)e.Attribute("type") ?? string.Empty,
                (string?)e.Attribute("name"),
                (string?)e.Attribute(XNamespace.Xml + "lang")))
            .ToList();
        var features = query.Elements(XName.Get("feature", Namespaces.DiscoInfo))
            .Select(e => (string?)e.Attribute("var"))
            .OfType<string>()
            .ToList();
        var forms = query.Elements(XName.Get("x", Namespaces.DataForms)).ToList();
        return new DiscoInfo(identities, features, forms);
    }
}
