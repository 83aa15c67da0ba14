using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Configuration;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace XmppTransfer.Cli.Output;

/// <summary>
/// Console logging on stderr, one line per event, for every command: levels from the standard <c>Logging</c> section
/// (errors only for the one-shot commands, Information for the services, unless it says otherwise), debug with --verbose.
/// </summary>
internal static class CliLogging
{
    /// <summary>
    /// The logger of the one-shot commands (send, receive, disco, demo): errors only, unless the <c>Logging</c> section of
    /// the <c>XFT_</c> variables in <paramref name="environment"/> (<c>XFT_Logging__LogLevel__Default=Information</c>,
    /// <c>XFT_Logging__LogLevel__XmppTransfer.Core=Debug</c>) sets other levels; <paramref name="verbose"/> wins, as for
    /// the services (<see cref="ConfigureHost"/>). Each event is one line on stderr, through <paramref name="writeLine"/>
    /// when given (the command's <see cref="OrderedOutput"/>, which puts it above a live progress bar and in order with the
    /// command's notes), else by the console logger.
    /// </summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static ILoggerFactory Create(bool verbose, IReadOnlyDictionary<string, string?> environment, Action<string>? writeLine = null) =>
        Create(EnvironmentLogging(environment), verbose, writeLine);

    /// <summary>The one-shot commands' logger with the <c>Logging</c> section <paramref name="logging"/>.</summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static ILoggerFactory Create(IConfiguration logging, bool verbose, Action<string>? writeLine = null) =>
        Create(logging, verbose, "in the environment", writeLine);

    /// <summary>
    /// Checks the levels of a service's <c>Logging</c> section (<c>xft proxy</c>, <c>xft server</c>) before its host is
    /// built: the host reads them only when it creates its first logger, and a bad one there is a crash with a stack trace.
    /// </summary>
    /// <exception cref="UsageException">A configured level is not a log level (exit code 2).</exception>
    public static void Validate(IConfiguration logging) => Create(logging, verbose: false, "in the configuration", writeLine: null).Dispose();

    private static ILoggerFactory Create(IConfiguration logging, bool verbose, string where, Action<string>? writeLine)
    {
        try
        {
            return LoggerFactory.Create(builder =>
            {
                Configure(builder, logging, verbose, LogLevel.Error, "HH:mm:ss.fff ");
                if (writeLine is not null)
                {
                    ToLines(builder.Services, writeLine);
                }
            });
        }
        catch (InvalidOperationException ex)
        {
            // Microsoft.Extensions.Logging's own words: "Configuration value 'Loud' is not supported."
            throw new UsageException($"Invalid logging setting {where}: {ex.Message}");
        }
    }

    /// <summary>The <c>Logging</c> section of the <c>XFT_</c> variables in <paramref name="environment"/> (nothing else in them is read here).</summary>
    public static IConfiguration EnvironmentLogging(IReadOnlyDictionary<string, string?> environment) =>
        new ConfigurationBuilder().AddXftVariables(environment).Build().GetSection("Logging");

    /// <summary>
    /// Swaps the console logger for a <see cref="LineLoggerProvider"/> on <paramref name="writeLine"/>, formatting with the
    /// same console formatter and options (the one <c>Logging:Console:FormatterName</c> names, the simple one by default).
    /// </summary>
    private static void ToLines(IServiceCollection services, Action<string> writeLine)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(ILoggerProvider) && services[i].ImplementationType == typeof(ConsoleLoggerProvider))
            {
                services.RemoveAt(i);
            }
        }

        services.AddSingleton<ILoggerProvider>(provider =>
        {
            var name = provider.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName ?? ConsoleFormatterNames.Simple;
            var formatters = provider.GetServices<ConsoleFormatter>().ToList();
            var formatter = formatters.FirstOrDefault(f => f.Name == name) ?? formatters.First(f => f.Name == ConsoleFormatterNames.Simple);
            return new LineLoggerProvider(formatter, writeLine);
        });
    }

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
