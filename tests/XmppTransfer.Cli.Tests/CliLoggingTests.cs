using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XmppTransfer.Cli.Output;
using XmppTransfer.Cli.Proxy;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// The console logging of <c>xft proxy</c> and <c>xft server</c>, and of the one-shot commands: levels from the
/// <c>Logging</c> section, --verbose on top.
/// </summary>
public sealed class CliLoggingTests
{
    private const string Proxy = "XmppTransfer.Proxy.Socks5Proxy";
    private const string Server = "XmppTransfer.Server.EmbeddedXmppServer";
    private const string Client = "XmppTransfer.Core.XmppClient";
    private const string FileTransfer = "XmppTransfer.FileTransfer.FileTransferManager";

    private static ServiceProvider Build(bool verbose, params (string Key, string Value)[] settings)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        ServiceCollection services = new();
        services.AddLogging(builder => CliLogging.ConfigureHost(builder, configuration.GetSection("Logging"), verbose, "HH:mm:ss.fff "));
        return services.BuildServiceProvider();
    }

    private static ILoggerFactory OneShot(bool verbose, params (string Key, string Value)[] settings) =>
        CliLogging.Create(
            new ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
                .Build()
                .GetSection("Logging"),
            verbose);

    private static ILogger Logger(ServiceProvider provider, string category) => provider.GetRequiredService<ILoggerFactory>().CreateLogger(category);

    [Fact]
    public void Without_settings_the_services_log_information_but_not_debug()
    {
        using ServiceProvider provider = Build(verbose: false);

        Assert.True(Logger(provider, Proxy).IsEnabled(LogLevel.Information));
        Assert.False(Logger(provider, Proxy).IsEnabled(LogLevel.Debug));
    }

    [Fact]
    public void The_default_level_from_configuration_hides_information()
    {
        using ServiceProvider provider = Build(verbose: false, ("Logging:LogLevel:Default", "Warning"));

        Assert.False(Logger(provider, Proxy).IsEnabled(LogLevel.Information));
        Assert.True(Logger(provider, Proxy).IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void A_category_level_applies_to_that_category_only()
    {
        using ServiceProvider provider = Build(verbose: false, ("Logging:LogLevel:XmppTransfer.Proxy", "Warning"));

        Assert.False(Logger(provider, Proxy).IsEnabled(LogLevel.Information));
        Assert.True(Logger(provider, Server).IsEnabled(LogLevel.Information));
    }

    [Fact]
    public void Verbose_wins_over_configured_levels_but_keeps_a_configured_trace()
    {
        using ServiceProvider provider = Build(
            verbose: true,
            ("Logging:LogLevel:Default", "Warning"),
            ("Logging:LogLevel:XmppTransfer.Proxy", "None"),
            ("Logging:LogLevel:XmppTransfer.Server", "Trace"));

        Assert.True(Logger(provider, Proxy).IsEnabled(LogLevel.Debug));
        Assert.True(Logger(provider, "XmppTransfer.Core.XmppClient").IsEnabled(LogLevel.Debug));
        Assert.False(Logger(provider, "XmppTransfer.Core.XmppClient").IsEnabled(LogLevel.Trace));
        Assert.True(Logger(provider, Server).IsEnabled(LogLevel.Trace));
    }

    [Fact]
    public void Without_settings_the_one_shot_commands_log_errors_only()
    {
        using ILoggerFactory factory = OneShot(verbose: false);

        Assert.True(factory.CreateLogger(Client).IsEnabled(LogLevel.Error));
        Assert.False(factory.CreateLogger(Client).IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void Verbose_without_settings_shows_the_one_shot_commands_debug_but_not_trace()
    {
        using ILoggerFactory factory = OneShot(verbose: true);

        Assert.True(factory.CreateLogger(Client).IsEnabled(LogLevel.Debug));
        Assert.False(factory.CreateLogger(Client).IsEnabled(LogLevel.Trace));
    }

    [Fact]
    public void The_default_level_from_configuration_shows_a_one_shot_commands_information()
    {
        using ILoggerFactory factory = OneShot(verbose: false, ("Logging:LogLevel:Default", "Information"));

        Assert.True(factory.CreateLogger(Client).IsEnabled(LogLevel.Information));
        Assert.False(factory.CreateLogger(Client).IsEnabled(LogLevel.Debug));
    }

    [Fact]
    public void A_category_level_applies_to_that_category_only_in_a_one_shot_command()
    {
        using ILoggerFactory factory = OneShot(verbose: false, ("Logging:LogLevel:XmppTransfer.FileTransfer", "Debug"));

        Assert.True(factory.CreateLogger(FileTransfer).IsEnabled(LogLevel.Debug));
        Assert.False(factory.CreateLogger(Client).IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void Verbose_wins_over_a_one_shot_commands_configured_levels_but_keeps_a_configured_trace()
    {
        using ILoggerFactory factory = OneShot(
            verbose: true,
            ("Logging:LogLevel:Default", "None"),
            ("Logging:LogLevel:XmppTransfer.FileTransfer", "Trace"));

        Assert.True(factory.CreateLogger(Client).IsEnabled(LogLevel.Debug));
        Assert.False(factory.CreateLogger(Client).IsEnabled(LogLevel.Trace));
        Assert.True(factory.CreateLogger(FileTransfer).IsEnabled(LogLevel.Trace));
    }

    [Fact]
    public void A_one_shot_command_reads_its_levels_from_the_environment_it_is_handed_not_the_process()
    {
        Dictionary<string, string?> environment = new() { ["XFT_Logging__LogLevel__Default"] = "Information", ["Logging__LogLevel__Default"] = "Trace" };

        using ILoggerFactory handed = CliLogging.Create(verbose: false, environment);
        using ILoggerFactory empty = CliLogging.Create(verbose: false, new Dictionary<string, string?>());

        Assert.True(handed.CreateLogger(Client).IsEnabled(LogLevel.Information));
        Assert.False(handed.CreateLogger(Client).IsEnabled(LogLevel.Debug));
        Assert.False(empty.CreateLogger(Client).IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void A_one_shot_command_with_a_line_writer_gets_each_event_as_one_formatted_line()
    {
        List<string> lines = [];
        using ILoggerFactory factory = CliLogging.Create(verbose: true, new Dictionary<string, string?>(), lines.Add);

        ILogger logger = factory.CreateLogger(Client);
#pragma warning disable CA1873 // A test of the formatting itself: the argument is a constant.
        logger.LogDebug("stream opened to {Host}", "example.test");
#pragma warning restore CA1873
        logger.LogTrace("not shown");

        string line = Assert.Single(lines);
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} dbug: XmppTransfer\.Core\.XmppClient\[0\] stream opened to example\.test$", line);
    }

    [Fact]
    public void A_console_level_still_filters_a_one_shot_commands_line_writer()
    {
        List<string> lines = [];
        using ILoggerFactory factory = CliLogging.Create(
            new ConfigurationBuilder()
                .AddInMemoryCollection([new("Logging:LogLevel:Default", "Information"), new("Logging:Console:LogLevel:Default", "Warning")])
                .Build()
                .GetSection("Logging"),
            verbose: false,
            lines.Add);

        factory.CreateLogger(Client).LogInformation("hidden by the console level");
        factory.CreateLogger(Client).LogWarning("shown");

        Assert.Contains("shown", Assert.Single(lines), StringComparison.Ordinal);
    }

    [Fact]
    public void A_level_that_is_not_a_log_level_is_a_usage_error_for_a_one_shot_command()
    {
        UsageException ex = Assert.Throws<UsageException>(() => OneShot(verbose: false, ("Logging:LogLevel:Default", "Loud")));

        Assert.Contains("Loud", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_proxy_takes_its_logging_section_from_the_same_file_as_its_settings()
    {
        string folder = Directory.CreateTempSubdirectory("xft-proxy-logging-").FullName;
        try
        {
            string file = Path.Combine(folder, "appsettings.json");
            File.WriteAllText(file, """
                { "Logging": { "LogLevel": { "Default": "Warning" } }, "Proxy": { "ComponentJid": "proxy.example.test", "PublicHost": [ "h" ] } }
                """);

            ProxySettings settings = ProxyConfiguration.Load(new ProxyArguments { ConfigFile = file }, new Dictionary<string, string?> { [ProxyConfiguration.SecretVariable] = "secret" });

            Assert.Equal("Warning", settings.Logging["LogLevel:Default"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
