using System.Xml.Linq;
using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams.Ibb;

/// <summary>The XEP-0047 <c>&lt;close sid/&gt;</c> element.</summary>
public static class IbbClose
{
    public static readonly XName Name = XName.Get("close", Namespaces.Ibb);

    public static XElement Create(string sid) => new(Name, new XAttribute("sid", sid));
}
