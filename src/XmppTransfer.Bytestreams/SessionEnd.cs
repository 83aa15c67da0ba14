using XmppTransfer.Core;

namespace XmppTransfer.Bytestreams;

/// <summary>
/// Our own XMPP session ending under a bytestream (a stream error, a dropped socket, our close), worded once for both
/// kinds of bytestream: every wait that needs the session fails with <see cref="BytestreamErrorKind.Closed"/>.
/// </summary>
internal static class SessionEnd
{
    /// <summary>An error of a request or send that says <paramref name="session"/> is gone (not a peer's error, not a timeout).</summary>
    public static bool Is(XmppSession? session, XmppException error) =>
        error is not BytestreamException && error.Kind == XmppErrorKind.Closed && session is { Completion.IsCompleted: true };

    /// <summary>
    /// The failure, <paramref name="when"/> in words ("before the in-band bytestream to X was complete"), naming the session's
    /// own end reason when it has one (kept as the inner exception unless <paramref name="inner"/> is given).
    /// </summary>
    public static BytestreamException Failure(XmppSession? session, string when, Exception? inner)
    {
        var reason = session?.Completion is { IsFaulted: true } completion ? completion.Exception?.InnerException : null;
        var because = reason is null ? string.Empty : $" ({reason.Message.TrimEnd('.')})";
        return new BytestreamException(BytestreamErrorKind.Closed, $"Our XMPP session ended{because} {when}.", inner ?? reason);
    }

    /// <summary>Completes when <paramref name="session"/> ends, however it ends (its reason is read by <see cref="Failure"/>).</summary>
    public static async Task WhenEndedAsync(XmppSession session)
    {
        try
        {
            await session.Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A session that failed ends the bytestreams as one closed at our request does; the reason goes into their messages.
        }
    }
}
