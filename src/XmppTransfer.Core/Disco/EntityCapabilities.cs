using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace XmppTransfer.Core.Disco;

/// <summary>Entity capabilities (XEP-0115 v1.5): the verification string and the presence element.</summary>
public static class EntityCapabilities
{
    /// <summary>
    /// The <c>ver</c> string (XEP-0115 §5.1): identities sorted by category/type/lang/name as
    /// <c>category/type/lang/name&lt;</c>, then sorted features as <c>feature&lt;</c>, then forms,
    /// SHA-1, base64.
    /// </summary>
    public static string ComputeVer(IEnumerable<DiscoIdentity> identities, IEnumerable<string> features, IEnumerable<XElement>? forms = null)
    {
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(features);
        var s = new StringBuilder();
        foreach (var identity in identities
            .Select(i => $"{i.Category}/{i.Type}/{i.Language}/{i.Name}")
            .Order(StringComparer.Ordinal))
        {
            s.Append(identity).Append('<');
        }

        foreach (var feature in features.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            s.Append(feature).Append('<');
        }

        foreach (var form in (forms ?? []).OrderBy(FormType, StringComparer.Ordinal))
        {
            s.Append(FormType(form)).Append('<');
            foreach (var field in form.Elements(XName.Get("field", Namespaces.DataForms))
                .Where(f => (string?)f.Attribute("var") != "FORM_TYPE")
                .OrderBy(f => (string?)f.Attribute("var"), StringComparer.Ordinal))
            {
                s.Append((string?)field.Attribute("var")).Append('<');
                foreach (var value in field.Elements(XName.Get("value", Namespaces.DataForms)).Select(v => v.Value).Order(StringComparer.Ordinal))
                {
                    s.Append(value).Append('<');
                }
            }
        }

        return Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(s.ToString())));
    }

    private static string FormType(XElement form) =>
        form.Elements(XName.Get("field", Namespaces.DataForms))
            .FirstOrDefault(f => (string?)f.Attribute("var") == "FORM_TYPE")?
            .Element(XName.Get("value", Namespaces.DataForms))?.Value ?? string.Empty;
}
