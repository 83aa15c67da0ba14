using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Configuration;
using Microsoft.Extensions.Logging.Console;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// Console logging on stderr, one line per event, for every command: levels from the standard <c>Logging</c> section
/// (errors only for the one-shot commands, Information for the services, unless it says otherwise), debug with --verbose.
/// </summary>
internal static class CliLogging
{
    /// <summary>
    /// The console logger of the one-shot commands (send, receive, disco, demo): errors only, unless the <c>Logging</c>
    /// section of the <c>XFT_</c> environment (<c>XFT_Logging__LogLevel__Default=Information</c>,
    /// <c>XFT_Logging__LogLevel__XmppTransfer.Core=Debug</c>) sets other levels; <paramref name="verbose"/> wins, as for
    /// the services (<see cref="ConfigureHost"/>).
    /// </summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static ILoggerFactory Create(bool verbose) => Create(EnvironmentLogging(), verbose);

    /// <summary>The one-shot commands' console logger with the <c>Logging</c> section <paramref name="logging"/>.</summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static ILoggerFactory Create(IConfiguration logging, bool verbose) => Create(logging, verbose, "in the environment");

    /// <summary>
    /// Checks the levels of a service's <c>Logging</c> section (<c>xft proxy</c>, <c>xft server</c>) before its host is
    /// built: the host reads them only when it creates its first logger, and a bad one there is a crash with a stack trace.
    /// </summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static void Validate(IConfiguration logging) => Create(logging, verbose: false, "in the configuration").Dispose();

    private static ILoggerFactory Create(IConfiguration logging, bool verbose, string where)
    {
        try
        {
            return LoggerFactory.Create(builder => Configure(builder, logging, verbose, LogLevel.Error, "HH:mm:ss.fff "));
        }
        catch (InvalidOperationException ex)
        {
            // Microsoft.Extensions.Logging's own words: "Configuration value 'Loud' is not supported."
            throw new UsageException($"Invalid logging setting {where}: {ex.Message}");
        }
    }

    /// <summary>The <c>Logging</c> section of the <c>XFT_</c> environment variables (nothing else in them is read here).</summary>
    public static IConfiguration EnvironmentLogging() =>
        new ConfigurationBuilder().AddEnvironmentVariables(XftEnvironment.Prefix).Build().GetSection("Logging");

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
        Configure(builder, logging, verbose, LogLevel.Information, timestampFormat);
    }

    /// <summary>
    /// Both kinds of command: <paramref name="defaultLevel"/> when <paramref name="logging"/> sets none, its levels
    /// otherwise, every level above Debug lowered to Debug under <paramref name="verbose"/>; the simple console formatter
    /// (Logging:Console:FormatterOptions win over our defaults), everything on stderr.
    /// </summary>
    private static void Configure(ILoggingBuilder builder, IConfiguration logging, bool verbose, LogLevel defaultLevel, string timestampFormat)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(logging);
        builder.SetMinimumLevel(defaultLevel);
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
