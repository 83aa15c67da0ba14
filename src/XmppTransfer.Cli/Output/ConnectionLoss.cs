using System.Xml;
using XmppTransfer.Core;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// How <c>xft send</c> and <c>xft receive</c> notice and name a server connection that ended under them. The session's
/// <see cref="XmppSession.Completion"/> faults with the reason exactly when the stream ended without our asking (a stream
/// error such as <c>system-shutdown</c> or <c>conflict</c>, a dropped socket); our own close completes it without one.
/// </summary>
internal static class ConnectionLoss
{
    /// <summary>Why the session ended on its own, or null while it is up or when we closed it.</summary>
    public static Exception? Reason(XmppSession session) =>
        session.Completion.IsFaulted ? session.Completion.Exception?.InnerException : null;

    /// <summary>The one stderr line (without the <c>xft: </c> prefix) for a lost connection.</summary>
    public static string Line(Exception reason) => "lost the connection to the server: " + Describe(reason);

    /// <summary>The cause in words a user acts on; the defined condition stays in the text so scripts can match it.</summary>
    public static string Describe(Exception reason) => reason switch
    {
        XmppStreamErrorException { SentByUs: true } error => error.Message,
        XmppStreamErrorException { Condition: "system-shutdown" } => "system-shutdown (the server is shutting down)",
        XmppStreamErrorException { Condition: "conflict" } => "another login with the same resource replaced this one (conflict)",
        XmppStreamErrorException { Condition: "connection-timeout" } => "connection-timeout (the server closed an idle connection)",
        XmppStreamErrorException error => error.Text is null ? error.Condition : $"{error.Condition} ({error.Text})",
        // The reader hit the end of the TCP stream inside the XMPP one (its XmlException kept as the cause): no closing tag
        // came, so it was not the server ending the stream; the connection itself went (a server killed, a NAT or proxy
        // dropping it).
        XmppConnectionException { Kind: XmppErrorKind.Closed, InnerException: XmlException } =>
            "the connection was closed without the server closing the stream (dropped)",
        XmppConnectionException { Kind: XmppErrorKind.Closed } => "the server closed the stream",
        _ => reason.Message,
    };
}
