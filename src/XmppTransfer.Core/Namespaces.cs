namespace XmppTransfer.Core;

/// <summary>XML namespace URIs used on the wire, in one place.</summary>
public static class Namespaces
{
    public const string Streams = "http://etherx.jabber.org/streams";
    public const string Client = "jabber:client";
    public const string Server = "jabber:server";
    public const string Component = "jabber:component:accept";
    public const string Tls = "urn:ietf:params:xml:ns:xmpp-tls";
    public const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    public const string Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    public const string Session = "urn:ietf:params:xml:ns:xmpp-session";
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public const string StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    public const string SaslChannelBinding = "urn:xmpp:sasl-cb:0";
    public const string StreamLimits = "urn:xmpp:stream-limits:0";
    public const string Roster = "jabber:iq:roster";
    public const string Ping = "urn:xmpp:ping";
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";
    public const string DiscoItems = "http://jabber.org/protocol/disco#items";
    public const string Caps = "http://jabber.org/protocol/caps";
    public const string DataForms = "jabber:x:data";
    public const string FeatureNeg = "http://jabber.org/protocol/feature-neg";
    public const string Ibb = "http://jabber.org/protocol/ibb";
    public const string Bytestreams = "http://jabber.org/protocol/bytestreams";
    public const string Si = "http://jabber.org/protocol/si";
    public const string SiFileTransfer = "http://jabber.org/protocol/si/profile/file-transfer";
    public const string Hashes = "urn:xmpp:hashes:2";
    public const string HashFunctionSha256 = "urn:xmpp:hash-function-text-names:sha-256";
    public const string OobIq = "jabber:iq:oob";
    public const string OobX = "jabber:x:oob";
}
