using System.Xml.Linq;

namespace XmppTransfer.Core.Stanzas;

/// <summary>Stream errors (RFC 6120 §4.9): <c>&lt;stream:error&gt;</c> with one condition and optional text.</summary>
public static class StreamError
{
    public static readonly XName Name = XName.Get("error", Namespaces.Streams);
    private static readonly XName s_text = XName.Get("text", Namespaces.StreamErrors);

    public static XElement Create(string condition, string? text = null)
    {
        var element = new XElement(Name, new XElement(XName.Get(condition, Namespaces.StreamErrors)));
        if (text is not null)
        {
            element.Add(new XElement(s_text, text));
        }

        return element;
    }

    public static (string Condition, string? Text) Parse(XElement error)
    {
        ArgumentNullException.ThrowIfNull(error);
        string? condition = null;
        string? text = null;
        foreach (var child in error.Elements())
        {
            if (child.Name == s_text)
            {
                text = child.Value;
            }
            else if (child.Name.NamespaceName == Namespaces.StreamErrors)
            {
                condition ??= child.Name.LocalName;
            }
        }

        return (condition ?? "undefined-condition", text);
    }
}
