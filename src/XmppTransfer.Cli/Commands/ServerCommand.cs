using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.Cli.Output;
using XmppTransfer.Cli.Server;
using XmppTransfer.Server;
using XmppTransfer.Server.Accounts;

namespace XmppTransfer.Cli.Commands;

/// <summary>
/// <c>xft server</c>: run the embedded XMPP server (with the proxy built in) until SIGTERM or Ctrl-C; and
/// <c>xft server add-user | remove-user | passwd USER</c> to manage its accounts file.
/// </summary>
internal static class ServerCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Data folder (accounts, certificate, server.json). Default ~/.local/share/xft/server.", HelpName = "DIR", Recursive = true };
        var config = new Option<string?>("--config") { Description = "Settings file (JSON). Default server.json in the data folder, if present.", HelpName = "FILE" };
        var domain = new Option<string?>("--domain") { Description = "The domain served (xmpp.domain). Default localhost." };
        var listen = new Option<string?>("--listen") { Description = "Client address, ADDRESS:PORT (default 127.0.0.1:5222).", HelpName = "ENDPOINT" };
        var metrics = new Option<string?>("--metrics") { Description = "Serve Prometheus metrics at http://ENDPOINT/metrics (e.g. 127.0.0.1:9190).", HelpName = "ENDPOINT" };
        var set = new Option<string[]>("--set") { Description = "A setting, KEY=VALUE; our names (Server:Proxy:Port) or Openfire's (xmpp.proxy.port). Repeatable.", HelpName = "KEY=VALUE" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Debug logs on stderr, whatever Logging:LogLevel says." };
        var command = new Command("server", "Run a small XMPP server for one domain with a SOCKS5 proxy built in (STARTTLS, SCRAM, shared roster).")
        {
            data, config, domain, listen, metrics, set, verbose,
        };
        command.Subcommands.Add(AccountCommand("add-user", "Create an account.", data, async (store, user, password, ct) => await store.AddAsync(user, password, ct)));
        command.Subcommands.Add(AccountCommand("passwd", "Change an account's password.", data, async (store, user, password, ct) => await store.SetPasswordAsync(user, password, ct)));
        command.Subcommands.Add(RemoveCommand(data));
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(parse.GetValue(verbose), async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(data) ?? ServerSettings.DefaultDataDirectory);
            Directory.CreateDirectory(folder);
            var configuration = new ConfigurationBuilder();
            configuration.AddConfiguration(ReadSettingsFile(parse.GetValue(config), folder));
            var environment = XftEnvironment.Current();
            configuration.AddXftVariables(environment);
            XftEnvironment.CheckSection("Server", ServerSettings.Keys, environment);
            var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in parse.GetValue(set) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new UsageException($"--set expects KEY=VALUE, not '{pair}'.");
                }

                overrides[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
            }

            ServerSettings.Keys.Check(overrides.Keys, "in --set");

            if (parse.GetValue(domain) is { } domainValue)
            {
                overrides["Server:Domain"] = domainValue;
            }

            if (parse.GetValue(listen) is { } listenValue)
            {
                overrides["Server:Listen"] = listenValue;
            }

            if (parse.GetValue(metrics) is { } metricsValue)
            {
                overrides["Server:Metrics"] = metricsValue;
            }

            configuration.AddInMemoryCollection(overrides);
            var settings = configuration.Build();

            // Bad settings are usage errors (exit 2, one line, as in xft proxy), caught before the host starts: a failure
            // inside it is logged as a crash with a stack trace and exits 1.
            ServerOptions checkedOptions;
            try
            {
                checkedOptions = ServerSettings.Map(settings, folder, NullLoggerFactory.Instance);
                checkedOptions.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new UsageException("Invalid server setting: " + ErrorText.Of(ex));
            }

            CliLogging.Validate(settings.GetSection("Logging"));

            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Configuration = new ConfigurationManager() });
            CliLogging.ConfigureHost(builder.Logging, settings.GetSection("Logging"), parse.GetValue(verbose), "HH:mm:ss.fff ");
            if (!parse.GetValue(verbose))
            {
                // A start that fails (a port taken) is explained in one line below; the host's own "Hosting failed to start"
                // would repeat it as an error with a stack trace.
                builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
            }

            SignalFreeLifetime.Use(builder.Services);

            // Stopping takes the clients' grace after system-shutdown, then the built-in proxy's drain; the margin closes the
            // rest. A shorter cap would cut the drain it promises (and end as an unexpected cancellation).
            var stopLimit = checkedOptions.ShutdownTimeout + checkedOptions.ProxyDrainTimeout + TimeSpan.FromSeconds(10);
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = stopLimit);
            builder.Services.AddSingleton(provider => new ServerHostedService(
                ServerSettings.Map(settings, folder, provider.GetRequiredService<ILoggerFactory>()),
                ServerSettings.MetricsEndpoint(settings),
                Console.Out));
            builder.Services.AddHostedService(provider => provider.GetRequiredService<ServerHostedService>());
            using var host = builder.Build();
            try
            {
                await host.StartAsync(cancellationToken);
            }
            catch (Exception ex) when (ex.GetBaseException() is System.Net.Sockets.SocketException socketError)
            {
                throw ListenFailure.Explain(socketError, ServerSettings.Map(settings, folder, NullLoggerFactory.Instance), ServerSettings.MetricsEndpoint(settings));
            }

            var service = host.Services.GetRequiredService<ServerHostedService>();
            try
            {
                await service.Started.Task;
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // SIGTERM or Ctrl-C: drain below.
            }
            finally
            {
                await host.StopAsync(CancellationToken.None);
            }

            return ExitCodes.Ok;
        }, CancellationToken.None));
        return command;
    }

    private static Command AccountCommand(string name, string description, Option<string?> data, Func<AccountStore, string, string, CancellationToken, Task> change)
    {
        var user = new Argument<string>("USER") { Description = "The account name (the local part of the JID)." };
        var stdin = new Option<bool>("--password-stdin") { Description = $"Read the password from the first line of stdin (else {NewPassword.EnvironmentVariable}, else a prompt)." };
        var command = new Command(name, description) { user, stdin };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(verbose: null, async () =>
        {
            var name = UserName(parse.GetRequiredValue(user));
            using var store = await OpenAsync(parse.GetValue(data), cancellationToken);
            var password = await NewPassword.ReadAsync(parse.GetValue(stdin), cancellationToken);
            try
            {
                await change(store, name, password, cancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                throw new UsageException(ex.Message);
            }
            catch (ArgumentException ex) when (ex.ParamName == "password")
            {
                // The store refuses a password SASL cannot carry (SASLprep, RFC 4013): only it can tell, so its refusal of
                // the password it was handed is the user's mistake. Any other ArgumentException is a bug, not caught here.
                throw new UsageException("The new password cannot be used: " + ErrorText.Of(ex));
            }

            await Console.Out.WriteLineAsync($"{name}: saved.");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command RemoveCommand(Option<string?> data)
    {
        var user = new Argument<string>("USER") { Description = "The account name." };
        var command = new Command("remove-user", "Delete an account.") { user };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(verbose: null, async () =>
        {
            var name = UserName(parse.GetRequiredValue(user));
            using var store = await OpenAsync(parse.GetValue(data), cancellationToken);
            if (!await store.RemoveAsync(name, cancellationToken))
            {
                throw new UsageException($"There is no account '{name}'.");
            }

            await Console.Out.WriteLineAsync($"{name}: removed.");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>The account name given on the command line as the store keeps it, or a usage error saying why it cannot be one.</summary>
    private static string UserName(string user)
    {
        try
        {
            return AccountStore.NormalizeUser(user);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ErrorText.Of(ex));
        }
    }

    /// <summary>
    /// The settings file: <paramref name="configFile"/> (which must exist), else server.json in the data folder if there is
    /// one; an unknown key in it, or JSON that does not parse, is a usage error naming the file.
    /// </summary>
    private static IConfiguration ReadSettingsFile(string? configFile, string folder)
    {
        var file = Path.GetFullPath(configFile ?? Path.Combine(folder, "server.json"));
        if (configFile is not null && !File.Exists(file))
        {
            throw new UsageException($"The settings file {configFile} does not exist.");
        }

        IConfiguration settings;
        try
        {
            settings = new ConfigurationBuilder().AddJsonFile(file, optional: true, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            throw new UsageException($"Cannot read the settings file {file}: {ex.Message}");
        }

        ServerSettings.Keys.Check(settings, "in " + file);
        return settings;
    }

    private static async Task<AccountStore> OpenAsync(string? data, CancellationToken cancellationToken)
    {
        var folder = Path.GetFullPath(data ?? ServerSettings.DefaultDataDirectory);
        return await AccountStore.OpenAsync(Path.Combine(folder, AccountStore.FileName), cancellationToken: cancellationToken);
    }
}
