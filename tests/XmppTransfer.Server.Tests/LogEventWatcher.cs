using Microsoft.Extensions.Logging;

namespace XmppTransfer.Server.Tests;

/// <summary>A logger factory that completes <see cref="Seen"/> when an event with the watched id has been logged <paramref name="times"/> times.</summary>
internal sealed class LogEventWatcher(int watchedId, int times = 1) : ILoggerFactory, ILogger
{
    private readonly TaskCompletionSource<string> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    /// <summary>The matching message that made the count.</summary>
    public Task<string> Seen => _seen.Task;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == watchedId && Interlocked.Increment(ref _count) == times)
        {
            _seen.TrySetResult(formatter(state, exception));
        }
    }

    public void Dispose()
    {
    }
}
