using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace XmppTransfer.Interop.Tests.Proxy;

/// <summary>The built <c>xft.dll</c> run with <c>dotnet</c> as a child process; its stdout JSON lines become events.</summary>
internal sealed class XftProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonElement> _events = Channel.CreateUnbounded<JsonElement>();
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdout;
    private readonly Task _stderrPump;

    private XftProcess(Process process)
    {
        _process = process;
        _stdout = PumpStdoutAsync();
        _stderrPump = PumpStderrAsync();
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

    /// <summary>Path of xft.dll, written into this assembly's metadata at build time.</summary>
    public static string XftPath => typeof(XftProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "XftPath").Value!;

    public static XftProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        ProcessStartInfo info = new("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(XftPath);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in environment)
        {
            info.Environment[key] = value;
        }

        return new XftProcess(Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet xft.dll."));
    }

    public async Task<JsonElement> WaitForEventAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                JsonElement next = await _events.Reader.ReadAsync(cts.Token);
                if (next.GetProperty("event").GetString() == name)
                {
                    return next;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"xft: no '{name}' event within {timeout.TotalSeconds:0} s; stderr:\n{StandardError}");
        }
    }

    /// <summary>SIGTERM by PID (kill(1): .NET has no managed way to send it).</summary>
    public void Terminate()
    {
        using Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit(10_000);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await Task.WhenAll(_stdout, _stderrPump).WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task PumpStdoutAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(line);
                _events.Writer.TryWrite(document.RootElement.Clone());
            }
            catch (JsonException)
            {
            }
        }

        _events.Writer.TryComplete();
    }

    private async Task PumpStderrAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_stderr)
            {
                _stderr.Append(line).Append('\n');
            }
        }
    }
}
