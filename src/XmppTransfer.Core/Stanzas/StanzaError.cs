using System.Xml.Linq;

namespace XmppTransfer.Core.Stanzas;

/// <summary>
/// A stanza error (RFC 6120 §8.3): a type, one defined condition, optional text and an optional
/// application-specific element (for example SI's <c>&lt;no-valid-streams/&gt;</c>).
/// </summary>
public sealed record StanzaError(StanzaErrorType Type, string Condition, string? Text = null, XElement? ApplicationCondition = null)
{
    private static readonly XName s_error = XName.Get("error", Namespaces.Client);
    private static readonly XName s_text = XName.Get("text", Namespaces.Stanzas);

    public static StanzaError BadRequest(string? text = null) => new(StanzaErrorType.Modify, "bad-request", text);

    public static StanzaError ServiceUnavailable(string? text = null) => new(StanzaErrorType.Cancel, "service-unavailable", text);

    public static StanzaError ItemNotFound(string? text = null) => new(StanzaErrorType.Cancel, "item-not-found", text);

    public static StanzaError NotAcceptable(string? text = null) => new(StanzaErrorType.Cancel, "not-acceptable", text);

    public static StanzaError NotAllowed(string? text = null) => new(StanzaErrorType.Cancel, "not-allowed", text);

    public static StanzaError Forbidden(string? text = null) => new(StanzaErrorType.Auth, "forbidden", text);

    public static StanzaError UnexpectedRequest(string? text = null) => new(StanzaErrorType.Cancel, "unexpected-request", text);

    public static StanzaError ResourceConstraint(string? text = null) => new(StanzaErrorType.Wait, "resource-constraint", text);

    public static StanzaError InternalServerError(string? text = null) => new(StanzaErrorType.Cancel, "internal-server-error", text);

    public static StanzaError JidMalformed(string? text = null) => new(StanzaErrorType.Modify, "jid-malformed", text);

    public static StanzaError FeatureNotImplemented(string? text = null) => new(StanzaErrorType.Cancel, "feature-not-implemented", text);

    /// <summary>Reads the <c>&lt;error/&gt;</c> child of a stanza; a missing or odd one becomes <c>undefined-condition</c>.</summary>
    public static StanzaError Parse(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        var error = stanza.Element(s_error);
        if (error is null)
        {
            return new StanzaError(StanzaErrorType.Cancel, "undefined-condition", "the error stanza had no <error/> element");
        }

        var type = (string?)error.Attribute("type") switch
        {
            "auth" => StanzaErrorType.Auth,
            "continue" => StanzaErrorType.Continue,
            "modify" => StanzaErrorType.Modify,
            "wait" => StanzaErrorType.Wait,
            _ => StanzaErrorType.Cancel,
        };
        string? condition = null;
        string? text = null;
        XElement? application = null;
        foreach (var child in error.Elements())
        {
            if (child.Name.NamespaceName == Namespaces.Stanzas)
            {
                if (child.Name == s_text)
                {
                    text = child.Value;
                }
                else
                {
                    condition ??= child.Name.LocalName;
                }
            }
            else
            {
                application ??= child;
            }
        }

        return new StanzaError(type, condition ?? "undefined-condition", text, application);
    }

    /// <summary>Builds the <c>&lt;error/&gt;</c> element.</summary>
    public XElement ToXml()
    {
        var element = new XElement(
            s_error,
            new XAttribute("type", Type.ToString().ToLowerInvariant()),
            new XElement(XName.Get(Condition, Namespaces.Stanzas)));
        if (Text is not null)
        {
            element.Add(new XElement(s_text, Text));
        }

        if (ApplicationCondition is not null)
        {
            element.Add(new XElement(ApplicationCondition));
        }

        return element;
    }

    public override string ToString() => Text is null ? $"{Condition} ({Type.ToString().ToLowerInvariant()})" : $"{Condition} ({Type.ToString().ToLowerInvariant()}): {Text}";
}
