using XmppTransfer.Core;

namespace XmppTransfer.Testing;

/// <summary>Reaches into a session's internals for tests of projects that cannot see them.</summary>
public static class SessionHooks
{
    /// <summary>
    /// Holds the continuations that send the answers of IQ handlers which completed after returning, until the returned
    /// scheduler is released: a thread pool too busy to run them, made deterministic.
    /// </summary>
    public static HeldTaskScheduler HoldAnswers(this XmppSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var scheduler = new HeldTaskScheduler();
        session.AnswerScheduler = scheduler;
        return scheduler;
    }
}
