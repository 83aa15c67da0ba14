using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// The log sink of the one-shot commands (<c>xft send</c>, <c>xft receive</c>, ...): each event formatted by the console
/// formatter the <c>Logging:Console</c> settings chose (the simple one, single line) and handed to a line writer, the
/// command's <see cref="OrderedOutput"/>, instead of written to the console by the console logger's own thread. So a
/// --verbose line goes above a live progress bar, not over it, and keeps its place among the command's own notes.
/// Its alias is the console logger's, so <c>Logging:Console:LogLevel:*</c> filters it as before.
/// </summary>
[ProviderAlias("Console")]
internal sealed class LineLoggerProvider(ConsoleFormatter formatter, Action<string> writeLine) : ILoggerProvider, ISupportExternalScope
{
    private readonly ConsoleFormatter _formatter = formatter;
    private readonly Action<string> _writeLine = writeLine;
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
        // Nothing held: every line was handed on as it was logged.
    }

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        // The factory's filter rules decide; this sink takes whatever reaches it.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            using var text = new StringWriter();
            provider._formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), provider._scopes, text);
            var line = text.ToString().TrimEnd('\r', '\n');
            if (line.Length > 0)
            {
                provider._writeLine(line);
            }
        }
    }
}
