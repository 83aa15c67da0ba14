namespace XmppTransfer.Testing;

/// <summary>
/// A scheduler that runs nothing until <see cref="Release"/>: plays a thread pool too busy to run a continuation yet, so a
/// test can show that something does not depend on that continuation having run.
/// </summary>
public sealed class HeldTaskScheduler : TaskScheduler
{
    private readonly List<Task> _held = [];
    private bool _released;

    /// <summary>How many tasks are waiting to run.</summary>
    public int HeldCount
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Runs the held tasks, and any queued later, on the thread pool.</summary>
    public void Release()
    {
        List<Task> held;
        lock (_held)
        {
            _released = true;
            held = [.. _held];
            _held.Clear();
        }

        foreach (var task in held)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => TryExecuteTask(task), null);
        }
    }

    protected override void QueueTask(Task task)
    {
        lock (_held)
        {
            if (!_released)
            {
                _held.Add(task);
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(_ => TryExecuteTask(task), null);
    }

    // Never inline: a held task must not run on whichever thread happens to wait for it.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_held)
        {
            return [.. _held];
        }
    }
}
