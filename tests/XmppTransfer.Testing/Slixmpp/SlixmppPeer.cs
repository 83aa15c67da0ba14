using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace XmppTransfer.Testing.Slixmpp;

/// <summary>
/// A slixmpp 1.8.3 peer (<c>Peers/slixmpp_peer.py</c>) run as a child process: it logs in, then receives SI file
/// transfers (IBB or S5B) or sends one file. Its stdout JSON lines become events; its stderr is kept for diagnostics.
/// </summary>
/// <remarks>
/// Events: <c>{"event":"ready","jid":…}</c> after login; <c>{"event":"received","file","name","bytes",
/// "expected_bytes","sha256","method","sid","seconds"}</c> per file received; <c>{"event":"sent","bytes","seconds",
/// "method","sid",…}</c> when a send is done; <c>{"event":"error","error":…}</c> on failure.
/// </remarks>
public sealed class SlixmppPeer : IAsyncDisposable
{
    /// <summary>The environment variable the script reads the password from.</summary>
    public const string PasswordVariable = "SLIXMPP_PEER_PASSWORD";

    private const int StandardErrorCap = 64 * 1024;

    private readonly SlixmppPeerOptions _options;
    private readonly Process _process;
    private readonly Channel<JsonElement> _events = Channel.CreateUnbounded<JsonElement>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly StringBuilder _stderr = new();
    private readonly Lock _stderrLock = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private int _disposed;

    private SlixmppPeer(SlixmppPeerOptions options, IEnumerable<string> modeArguments)
    {
        _options = options;
        var arguments = new List<string>
        {
            "-u", options.ScriptPath,
        };
        arguments.AddRange(modeArguments);
        arguments.AddRange(
        [
            "--jid", options.Jid,
            "--host", options.Host,
            "--port", options.Port.ToString(CultureInfo.InvariantCulture),
            "--timeout", options.IqTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--login-timeout", options.LoginTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ]);
        if (!options.Tls)
        {
            arguments.Add("--no-tls");
        }

        if (options.CaFile is not null)
        {
            arguments.AddRange(["--ca-file", options.CaFile]);
        }

        if (options.Verbose)
        {
            arguments.Add("--verbose");
        }

        var environment = new Dictionary<string, string>
        {
            [PasswordVariable] = options.Password,
            ["PYTHONUNBUFFERED"] = "1",
            ["PYTHONDONTWRITEBYTECODE"] = "1",
        };
        _process = ChildProcess.Start(options.PythonPath, arguments, environment);
        _stdoutPump = PumpEventsAsync();
        _stderrPump = ChildProcess.PumpLinesAsync(_process.StandardError, AppendStandardError);
    }

    /// <summary>The PID of the Python process.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the Python process has exited.</summary>
    public bool HasExited => ChildProcess.HasExited(_process);

    /// <summary>What the peer wrote to stderr so far (the last 64 KiB), for failure messages.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderrLock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts a peer that accepts every SI file offer and saves the files into <paramref name="outputDirectory"/>.</summary>
    /// <param name="options">Login options.</param>
    /// <param name="outputDirectory">Existing folder for received files.</param>
    /// <param name="count">Exit after this many files; 0 runs until disposed.</param>
    public static SlixmppPeer StartReceiver(SlixmppPeerOptions options, string outputDirectory, int count = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        options.Validate();
        if (!Directory.Exists(outputDirectory))
        {
            throw new DirectoryNotFoundException($"Output folder '{outputDirectory}' does not exist.");
        }

        var arguments = new List<string> { "receive", "--out", outputDirectory, "--count", count.ToString(CultureInfo.InvariantCulture) };
        if (options.MaxIbbBlockSize is int max)
        {
            arguments.AddRange(["--max-block-size", max.ToString(CultureInfo.InvariantCulture)]);
        }

        return new SlixmppPeer(options, arguments);
    }

    /// <summary>Starts a peer that offers <paramref name="url"/> to <paramref name="to"/> with XEP-0066 <c>jabber:iq:oob</c>, then exits.</summary>
    public static SlixmppPeer StartUrlSender(SlixmppPeerOptions options, string to, Uri url)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(to);
        ArgumentNullException.ThrowIfNull(url);
        options.Validate();
        return new SlixmppPeer(options, ["send-url", "--to", to, "--url", url.AbsoluteUri]);
    }

    /// <summary>Starts a peer that sends <paramref name="filePath"/> to <paramref name="to"/> (a full JID), then exits.</summary>
    public static SlixmppPeer StartSender(SlixmppPeerOptions options, string to, string filePath, SlixmppSendOptions? send = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(to);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        send ??= SlixmppSendOptions.Default;
        options.Validate();
        send.Validate();
        if (!File.Exists(filePath))
        {
            throw new FileNotFoundException("The file to send does not exist.", filePath);
        }

        return new SlixmppPeer(options,
        [
            "send", "--to", to, "--file", filePath,
            "--method", send.Method == SlixmppTransferMethod.S5b ? "s5b" : "ibb",
            "--block-size", send.BlockSize.ToString(CultureInfo.InvariantCulture),
            "--window", send.Window.ToString(CultureInfo.InvariantCulture),
        ]);
    }

    /// <summary>Returns the next JSON event the peer printed.</summary>
    /// <exception cref="TimeoutException">No event within <paramref name="timeout"/> (stderr is in the message).</exception>
    /// <exception cref="InvalidOperationException">The peer exited without printing another event.</exception>
    public async Task<JsonElement> NextEventAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        try
        {
            // The token cancels the read itself, so a late event stays in the channel for the next call.
            return await _events.Reader.ReadAsync(timeoutCts.Token);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"slixmpp peer {_options.Jid}: no event within {timeout.TotalSeconds:0.#} s.{Diagnostics()}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"slixmpp peer {_options.Jid} exited without another event.{Diagnostics()}");
        }
    }

    /// <summary>Skips events until one named <paramref name="eventName"/>; an <c>error</c> event fails the wait.</summary>
    /// <exception cref="InvalidOperationException">The peer reported an error or exited.</exception>
    /// <exception cref="TimeoutException">The whole wait took longer than <paramref name="timeout"/>.</exception>
    public async Task<JsonElement> WaitForEventAsync(string eventName, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            JsonElement next = await NextEventAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
            string? name = next.TryGetProperty("event", out JsonElement e) ? e.GetString() : null;
            if (name == eventName)
            {
                return next;
            }

            if (name == "error")
            {
                throw new InvalidOperationException($"slixmpp peer {_options.Jid} reported: {next.GetRawText()}{Diagnostics()}");
            }
        }
    }

    /// <summary>Waits for the <c>ready</c> event and returns the peer's bound full JID.</summary>
    public async Task<string> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        JsonElement ready = await WaitForEventAsync("ready", timeout, cancellationToken);
        return ready.GetProperty("jid").GetString()
            ?? throw new InvalidOperationException($"slixmpp peer {_options.Jid}: ready event without jid.");
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"slixmpp peer {_options.Jid} did not exit within {timeout.TotalSeconds:0.#} s.{Diagnostics()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Closes the peer's stdin (it logs out and exits), then SIGTERM, then SIGKILL, each bounded.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!ChildProcess.HasExited(_process))
            {
                try
                {
                    _process.StandardInput.Close();
                    await _process.WaitForExitAsync().WaitAsync(_options.StopTimeout);
                }
                catch (Exception ex) when (ex is TimeoutException or IOException)
                {
                }
            }

            await ChildProcess.StopAsync(_process, _options.StopTimeout);
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(_options.StopTimeout);
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"slixmpp peer {_options.Jid} (pid {ProcessId})";

    private string Diagnostics()
    {
        string exit = ChildProcess.HasExited(_process) ? $" exit code {_process.ExitCode};" : string.Empty;
        string stderr = StandardError;
        return $"{exit} stderr:{(stderr.Length == 0 ? " (empty)" : "\n" + stderr)}";
    }

    private async Task PumpEventsAsync()
    {
        try
        {
            await ChildProcess.PumpLinesAsync(_process.StandardOutput, line =>
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    return;
                }

                try
                {
                    using var document = JsonDocument.Parse(line);
                    _ = _events.Writer.TryWrite(document.RootElement.Clone());
                }
                catch (JsonException)
                {
                    AppendStandardError("(stdout) " + line);
                }
            });
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    private void AppendStandardError(string line)
    {
        lock (_stderrLock)
        {
            _stderr.Append(line).Append('\n');
            if (_stderr.Length > StandardErrorCap)
            {
                _stderr.Remove(0, _stderr.Length - StandardErrorCap);
            }
        }
    }
}
