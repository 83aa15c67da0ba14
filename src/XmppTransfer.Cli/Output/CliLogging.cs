using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Configuration;
using Microsoft.Extensions.Logging.Console;

namespace XmppTransfer.Cli.Output;

/// <summary>Console logging on stderr: warnings by default, debug with --verbose.</summary>
internal static class CliLogging
{
    /// <summary>The console logger of the one-shot commands (send, receive, disco, demo).</summary>
    public static ILoggerFactory Create(bool verbose) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Error);
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    /// <summary>
    /// The console logging of the long-running services (<c>xft proxy</c>, <c>xft server</c>), one line per event on
    /// stderr. <paramref name="logging"/> is the <c>Logging</c> section of the command's own configuration: its
    /// <c>LogLevel:Default</c> and <c>LogLevel:CATEGORY</c> keys (and <c>Console:LogLevel:*</c>,
    /// <c>Console:FormatterOptions:*</c>) apply; Information when nothing is set. <paramref name="verbose"/> wins over
    /// the configuration: every level set above Debug (including None) is lowered to Debug; Trace stays Trace.
    /// Output always goes to stderr (stdout carries the <c>--json</c> events and the server's banner).
    /// </summary>
    public static void ConfigureHost(ILoggingBuilder builder, IConfiguration logging, bool verbose, string timestampFormat)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(logging);
        builder.SetMinimumLevel(LogLevel.Information);
        builder.AddConfiguration(logging);
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = timestampFormat;
        });

        // Settings in Logging:Console:FormatterOptions win over the defaults above.
        builder.Services.Configure<SimpleConsoleFormatterOptions>(logging.GetSection("Console:FormatterOptions"));
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (verbose)
        {
            builder.Services.PostConfigure<LoggerFilterOptions>(options =>
            {
                options.MinLevel = Lower(options.MinLevel);
                LoggerFilterRule[] rules = [.. options.Rules];
                options.Rules.Clear();
                foreach (LoggerFilterRule rule in rules)
                {
                    options.Rules.Add(new LoggerFilterRule(rule.ProviderName, rule.CategoryName, rule.LogLevel is { } level ? Lower(level) : null, rule.Filter));
                }
            });
        }

        static LogLevel Lower(LogLevel level) => level > LogLevel.Debug ? LogLevel.Debug : level;
    }
}
