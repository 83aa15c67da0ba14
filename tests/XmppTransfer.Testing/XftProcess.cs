using System.Diagnostics;
using System.Threading.Channels;

namespace XmppTransfer.Testing;

/// <summary>
/// Runs the real <c>xft</c> binary (the CLI project's build output, same configuration as the tests)
/// as a child process: secrets through the environment, output captured line by line.
/// </summary>
public sealed class XftProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _stdout = Channel.CreateUnbounded<string>();
    private readonly System.Text.StringBuilder _stdoutAll = new();
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly Task _pumps;
    private readonly SemaphoreSlim _stderrLine = new(0);

    private XftProcess(Process process, Task? stdoutReadFrom)
    {
        _process = process;
        _pumps = Task.WhenAll(
            PumpStdoutAsync(process, stdoutReadFrom, line =>
            {
                lock (_stdoutAll)
                {
                    _stdoutAll.AppendLine(line);
                }

                _stdout.Writer.TryWrite(line);
            }),
            ChildProcess.PumpLinesAsync(process.StandardError, line =>
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                }

                _stderrLine.Release();
            }));
        _ = _pumps.ContinueWith(_ => _stdout.Writer.TryComplete(), TaskScheduler.Default);
    }

    public int ProcessId => _process.Id;

    public string StandardOutput
    {
        get
        {
            lock (_stdoutAll)
            {
                return _stdoutAll.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The xft.dll built next to these tests (Debug or Release, matching the test build).</summary>
    public static string XftDll
    {
        get
        {
            var baseDirectory = AppContext.BaseDirectory;
            var configuration = baseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var dll = Path.Combine(RepositoryRoot.Path, "src", "XmppTransfer.Cli", "bin", configuration, "net10.0", "xft.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the CLI first ({configuration}): {dll} is missing.");
        }
    }

    /// <summary>
    /// Starts xft with <paramref name="arguments"/>; stdin is closed at once (no prompts in tests). With
    /// <paramref name="stdoutReadFrom"/>, stdout is not read until that task completes (or xft exits): a reader that has
    /// stopped reading, whose pipe fills until xft's writes to it block.
    /// </summary>
    public static XftProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, Task? stdoutReadFrom = null)
    {
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["NO_COLOR"] = "1",
        };
        var process = ChildProcess.Start("dotnet", [XftDll, .. arguments], env);
        process.StandardInput.Close();
        return new XftProcess(process, stdoutReadFrom);
    }

    private static async Task PumpStdoutAsync(Process process, Task? readFrom, Action<string> onLine)
    {
        if (readFrom is not null)
        {
            await Task.WhenAny(readFrom, process.WaitForExitAsync());
        }

        await ChildProcess.PumpLinesAsync(process.StandardOutput, onLine);
    }

    /// <summary>Runs xft to completion and returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        await using var xft = Start(arguments, environment);
        var exit = await xft.WaitForExitAsync(timeout);
        return (exit, xft.StandardOutput, xft.StandardError);
    }

    /// <summary>The next stdout line, or null at end of output.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _stdout.Reader.ReadAsync(cts.Token);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"xft wrote no line within {timeout.TotalSeconds:0} s. stderr:\n{StandardError}");
        }
    }

    /// <summary>Waits until stderr contains <paramref name="text"/>, woken by each new stderr line.</summary>
    public async Task WaitForStderrAsync(string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (!StandardError.Contains(text, StringComparison.Ordinal))
            {
                await _stderrLine.WaitAsync(cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"xft did not print '{text}' within {timeout.TotalSeconds:0} s. stderr:\n{StandardError}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            await ChildProcess.StopAsync(_process, TimeSpan.FromSeconds(5));
            throw new TimeoutException($"xft did not exit within {timeout.TotalSeconds:0} s. stderr:\n{StandardError}");
        }

        await _pumps.WaitAsync(TimeSpan.FromSeconds(10));
        return _process.ExitCode;
    }

    /// <summary>Reads stdout JSON lines until one has <c>"event": name</c> (the <c>--json</c> events of long-running commands).</summary>
    public async Task<System.Text.Json.JsonElement> WaitForEventAsync(string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            var line = remaining > TimeSpan.Zero ? await ReadLineAsync(remaining) : null;
            if (line is null)
            {
                throw new TimeoutException($"xft: no '{name}' event within {timeout.TotalSeconds:0} s. stderr:\n{StandardError}");
            }

            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var document = System.Text.Json.JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("event", out var value) && value.GetString() == name)
            {
                return document.RootElement.Clone();
            }
        }
    }

    /// <summary>Sends SIGTERM (what a service manager sends) to the process.</summary>
    public async Task TerminateAsync() =>
        await ChildProcess.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(5), CancellationToken.None);

    /// <summary>Sends SIGQUIT (what Ctrl-\ sends; nginx's graceful stop) to the process.</summary>
    public async Task QuitAsync() =>
        await ChildProcess.RunAsync("kill", ["-QUIT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(5), CancellationToken.None);

    /// <summary>Sends SIGINT (what Ctrl-C sends) to the process.</summary>
    public async Task InterruptAsync() =>
        await ChildProcess.RunAsync("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(5), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.StopAsync(_process, TimeSpan.FromSeconds(5));
        _process.Dispose();
        _stderrLine.Dispose();
    }
}
