namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// A transfer's progress, taken on the reporting thread (Progress&lt;T&gt; would post it to the pool, after the fact), that a
/// test awaits reaching a byte count: it then knows those bytes have moved, and the transfer's own bookkeeping for them
/// (its inactivity stamp comes before the report) is done. Make the manager report every step (ProgressInterval zero).
/// </summary>
internal sealed class ProgressMark : IProgress<FileTransferProgress>
{
    private readonly Lock _gate = new();
    private readonly List<(long Bytes, TaskCompletionSource Reached)> _waiting = [];
    private long _bytes = -1;

    /// <summary>Completes once a report said at least <paramref name="bytes"/> had moved (at once if one did). Cap it with WaitAsync.</summary>
    public Task ReachedAsync(long bytes)
    {
        lock (_gate)
        {
            if (_bytes >= bytes)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((bytes, reached));
            return reached.Task;
        }
    }

    public void Report(FileTransferProgress value)
    {
        List<TaskCompletionSource> due;
        lock (_gate)
        {
            _bytes = Math.Max(_bytes, value.BytesTransferred);
            due = [.. _waiting.Where(w => w.Bytes <= _bytes).Select(w => w.Reached)];
            _waiting.RemoveAll(w => w.Bytes <= _bytes);
        }

        foreach (var reached in due)
        {
            reached.TrySetResult();
        }
    }
}
