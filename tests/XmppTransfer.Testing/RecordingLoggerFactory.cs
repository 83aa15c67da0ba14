using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.Testing;

/// <summary>Records log events so tests can wait for one (a synchronisation point, not a sleep).</summary>
public sealed class RecordingLoggerFactory : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> _events = new();
    private readonly Lock _lock = new();
    private readonly List<(int Id, int Count, TaskCompletionSource Done)> _waiters = [];

    public IReadOnlyCollection<(EventId Id, LogLevel Level, string Message)> Events => _events;

    /// <summary>Completes once <paramref name="count"/> events with <paramref name="eventId"/> were logged.</summary>
    public Task WaitForAsync(int eventId, int count = 1)
    {
        lock (_lock)
        {
            if (_events.Count(e => e.Id.Id == eventId) >= count)
            {
                return Task.CompletedTask;
            }

            TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((eventId, count, done));
            return done.Task;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _events.Enqueue((eventId, logLevel, formatter(state, exception)));
            int seen = _events.Count(e => e.Id.Id == eventId.Id);
            foreach ((int id, int count, TaskCompletionSource done) in _waiters)
            {
                if (id == eventId.Id && seen >= count)
                {
                    done.TrySetResult();
                }
            }
        }
    }

    public bool IsEnabled(LogLevel logLevel) => true;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public ILogger CreateLogger(string categoryName) => this;
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}
