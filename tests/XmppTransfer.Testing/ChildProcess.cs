using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace XmppTransfer.Testing;

/// <summary>Starts, runs and stops the foreign processes the fixtures drive (Prosody, prosodyctl, openssl, python).</summary>
internal static class ChildProcess
{
    /// <summary>Starts <paramref name="fileName"/> with stdin, stdout and stderr redirected.</summary>
    public static Process Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
    }

    /// <summary>Runs a short command to completion, feeding it <paramref name="standardInput"/>.</summary>
    /// <returns>The exit code and the combined stdout and stderr.</returns>
    /// <exception cref="TimeoutException">The command did not finish in time (it is killed).</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, string? standardInput, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using Process process = Start(fileName, arguments);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), timeoutCts.Token);
                await process.StandardInput.FlushAsync(timeoutCts.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(timeoutCts.Token);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            KillQuietly(process);
            throw new TimeoutException($"{Path.GetFileName(fileName)} did not finish within {timeout.TotalSeconds:0.#} s.");
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Asks a process to stop with SIGTERM, waits up to <paramref name="grace"/>, then kills it.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (HasExited(process))
        {
            return;
        }

        // Process.Kill(false) is SIGKILL; SIGTERM lets Prosody and Python shut down cleanly. .NET has no managed
        // SIGTERM and P/Invoke would need unsafe code here, so kill(1) sends it. Failure (already gone) is fine.
        try
        {
            _ = await RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], null, grace, CancellationToken.None);
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception)
        {
        }

        try
        {
            await process.WaitForExitAsync().WaitAsync(grace);
            return;
        }
        catch (TimeoutException)
        {
        }

        KillQuietly(process);
        await process.WaitForExitAsync().WaitAsync(grace);
    }

    /// <summary>Whether the process has exited (false when it cannot be told).</summary>
    public static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>Reads lines until end of stream, handing each to <paramref name="onLine"/>.</summary>
    public static async Task PumpLinesAsync(StreamReader reader, Action<string> onLine)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            onLine(line);
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
