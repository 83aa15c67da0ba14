using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.FileTransfer.Si;

/// <summary>XEP-0020 feature negotiation over an XEP-0004 form with one <c>stream-method</c> field.</summary>
internal static class FeatureNegotiation
{
    private static readonly XName s_feature = XName.Get("feature", Namespaces.FeatureNeg);
    private static readonly XName s_x = XName.Get("x", Namespaces.DataForms);
    private static readonly XName s_field = XName.Get("field", Namespaces.DataForms);
    private static readonly XName s_option = XName.Get("option", Namespaces.DataForms);
    private static readonly XName s_value = XName.Get("value", Namespaces.DataForms);

    public static XElement CreateForm(IEnumerable<string> methods) => new(
        s_feature,
        new XElement(
            s_x,
            new XAttribute("type", "form"),
            new XElement(
                s_field,
                new XAttribute("var", "stream-method"),
                new XAttribute("type", "list-single"),
                methods.Select(m => new XElement(s_option, new XElement(s_value, m))))));

    public static XElement CreateSubmit(string method) => new(
        s_feature,
        new XElement(
            s_x,
            new XAttribute("type", "submit"),
            new XElement(s_field, new XAttribute("var", "stream-method"), new XElement(s_value, method))));

    /// <summary>The options of the offer's stream-method field (each option has exactly one value).</summary>
    public static IReadOnlyList<string> ParseOptions(XElement si) =>
        StreamMethodField(si)?.Elements(s_option)
            .Select(o => o.Elements(s_value).SingleOrDefault()?.Value.Trim())
            .OfType<string>()
            .Where(v => v.Length > 0)
            .ToList() ?? [];

    /// <summary>The values of a submitted stream-method field (usually one; tolerate several).</summary>
    public static IReadOnlyList<string> ParseSubmitValues(XElement si) =>
        StreamMethodField(si)?.Elements(s_value).Select(v => v.Value.Trim()).Where(v => v.Length > 0).ToList() ?? [];

    private static XElement? StreamMethodField(XElement si) =>
        si.Element(s_feature)?.Element(s_x)?.Elements(s_field).FirstOrDefault(f => (string?)f.Attribute("var") == "stream-method");
}
