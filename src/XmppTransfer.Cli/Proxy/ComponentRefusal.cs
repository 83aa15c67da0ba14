using XmppTransfer.Core;

namespace XmppTransfer.Cli.Proxy;

/// <summary>
/// Which failures to attach to the XMPP server retrying cannot fix: the server refused the component's name
/// (<c>host-unknown</c>) or its secret (<c>not-authorized</c>). Everything else (a refused or dropped connection, a
/// timeout, a server shutting down, <c>conflict</c> with a component of the same name still attached) may pass.
/// </summary>
internal static class ComponentRefusal
{
    public static bool IsPermanent(Exception failure) =>
        failure is XmppConnectionException { Kind: XmppErrorKind.Authentication, InnerException: XmppStreamErrorException { Condition: "host-unknown" or "not-authorized" } };
}
