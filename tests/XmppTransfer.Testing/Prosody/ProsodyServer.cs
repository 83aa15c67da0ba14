using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XmppTransfer.Testing.Prosody;

/// <summary>
/// A real Prosody 0.12 on loopback for interop tests: its own config, certificate, ports and data in a temp folder,
/// run in the foreground as a child process and stopped by PID on dispose.
/// </summary>
/// <remarks>
/// When the tests run as root (here and in CI), the config sets <c>run_as_root = true</c>: Prosody's mod_posix
/// refuses to start as root otherwise, and prosodyctl would switch to the <c>prosody</c> user, which cannot read the
/// private temp folder. Prosody then runs as the test user, who owns (and can write) every file it uses.
/// </remarks>
public sealed class ProsodyServer : IAsyncDisposable
{
    private const int LogTailLines = 200;

    private readonly ProsodyConfig.Layout _layout;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _logTail = new();
    private readonly Lock _logLock = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private bool _logClosed;
    private int _disposed;

    private ProsodyServer(ProsodyServerOptions options, ProsodyConfig.Layout layout, ProsodyConfig.Ports ports, string? certificateSha256)
    {
        Options = options;
        _layout = layout;
        C2sPort = ports.C2s;
        ComponentPort = options.Components.Count > 0 ? ports.Component : null;
        ProxyPort = options.Proxy65 ? ports.Proxy65 : null;
        ProxyJid = options.Proxy65 ? "proxy." + options.Domain : null;
        CertificateSha256 = certificateSha256;

        _log = new StreamWriter(layout.LogPath, append: true, new UTF8Encoding(false)) { AutoFlush = true };
        _process = ChildProcess.Start(options.ProsodyPath, ["--config", layout.ConfigPath, "-F"]);
        _process.StandardInput.Close();
        _stdoutPump = ChildProcess.PumpLinesAsync(_process.StandardOutput, AppendLog);
        _stderrPump = ChildProcess.PumpLinesAsync(_process.StandardError, AppendLog);
    }

    /// <summary>The options the server was started with.</summary>
    public ProsodyServerOptions Options { get; }

    /// <summary>The VirtualHost's domain.</summary>
    public string Domain => Options.Domain;

    /// <summary>The address every port listens on: <c>127.0.0.1</c>.</summary>
    public string Host { get; } = "127.0.0.1";

    /// <summary>Client-to-server port (STARTTLS when <see cref="ProsodyServerOptions.Tls"/>).</summary>
    public int C2sPort { get; }

    /// <summary>External component port (XEP-0114) when <see cref="ProsodyServerOptions.Components"/> is not empty, else null
    /// (Prosody opens it only for configured components).</summary>
    public int? ComponentPort { get; }

    /// <summary><c>proxy.domain</c> when mod_proxy65 is on, else null.</summary>
    public string? ProxyJid { get; }

    /// <summary>mod_proxy65's SOCKS5 port when it is on, else null.</summary>
    public int? ProxyPort { get; }

    /// <summary>The self-signed certificate (PEM), or null without TLS.</summary>
    public string? CertificatePath => Options.Tls ? _layout.CertificatePath : null;

    /// <summary>Lowercase hex SHA-256 over the DER certificate, or null without TLS.</summary>
    public string? CertificateSha256 { get; }

    /// <summary>The server's temp folder: config, certificate, <c>prosody.log</c> and <c>data/</c>. Deleted on dispose.</summary>
    public string DataDirectory => _layout.Root;

    /// <summary>Prosody's log: its console output (stdout and stderr).</summary>
    public string LogPath => _layout.LogPath;

    /// <summary>The generated configuration file.</summary>
    public string ConfigPath => _layout.ConfigPath;

    /// <summary>The PID of the Prosody process.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the Prosody process has exited.</summary>
    public bool HasExited => ChildProcess.HasExited(_process);

    /// <summary>The last lines of Prosody's log, for failure messages.</summary>
    public string LogTail
    {
        get
        {
            lock (_logLock)
            {
                return string.Join('\n', _logTail);
            }
        }
    }

    /// <summary>Writes a config, makes a certificate, starts Prosody and waits until its ports accept TCP.</summary>
    /// <exception cref="TimeoutException">Not every port accepted TCP within <see cref="ProsodyServerOptions.StartTimeout"/>.</exception>
    /// <exception cref="InvalidOperationException">A tool failed or Prosody exited during start (its log is in the message).</exception>
    public static async Task<ProsodyServer> StartAsync(ProsodyServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var layout = new ProsodyConfig.Layout(TestFiles.CreateTempDirectory("xmpptransfer-prosody-"));
        ProsodyServer? server = null;
        try
        {
            Directory.CreateDirectory(layout.DataPath);
            Directory.CreateDirectory(layout.CertificateDirectory);
            string? sha256 = null;
            if (options.Tls)
            {
                sha256 = await CreateCertificateAsync(options, layout, cancellationToken);
            }

            IReadOnlyList<int> free = FreePort.Next(3);
            var ports = new ProsodyConfig.Ports(free[0], options.ComponentPort ?? free[1], free[2]);
            bool runAsRoot = Environment.IsPrivilegedProcess;
            await File.WriteAllTextAsync(layout.ConfigPath, ProsodyConfig.Render(options, layout, ports, runAsRoot), cancellationToken);

            server = new ProsodyServer(options, layout, ports, sha256);
            await server.WaitUntilListeningAsync(cancellationToken);
            return server;
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
            else
            {
                TestFiles.DeleteDirectoryQuietly(layout.Root);
            }

            throw;
        }
    }

    /// <summary>Creates an account with <c>prosodyctl adduser</c>, the password going through stdin (not argv).</summary>
    /// <exception cref="InvalidOperationException">prosodyctl failed (for example, the account exists).</exception>
    public async Task RegisterAsync(string user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (user.Any(c => c is '@' or '/' or '"' or '\'' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException("The user part must not contain '@', '/', quotes or whitespace.", nameof(user));
        }

        if (password.Any(c => c is '\n' or '\r'))
        {
            throw new ArgumentException("The password must be one line.", nameof(password));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        // adduser reads the password twice ("Enter new password", "Retype new password").
        (int exitCode, string output) = await ChildProcess.RunAsync(
            Options.ProsodyctlPath,
            ["--config", _layout.ConfigPath, "adduser", $"{user}@{Domain}"],
            $"{password}\n{password}\n",
            Options.ToolTimeout,
            cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"prosodyctl adduser {user}@{Domain} failed with exit code {exitCode}:\n{output}");
        }
    }

    /// <summary>Stops Prosody (SIGTERM, then SIGKILL after <see cref="ProsodyServerOptions.StopTimeout"/>) and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await ChildProcess.StopAsync(_process, Options.StopTimeout);
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(Options.StopTimeout);
        }
        finally
        {
            _process.Dispose();
            lock (_logLock)
            {
                _logClosed = true;
                _log.Dispose();
            }

            TestFiles.DeleteDirectoryQuietly(_layout.Root);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Prosody {Domain} c2s {Host}:{C2sPort} (pid {ProcessId})";

    private static async Task<string> CreateCertificateAsync(ProsodyServerOptions options, ProsodyConfig.Layout layout, CancellationToken cancellationToken)
    {
        string domain = options.Domain;
        (int exitCode, string output) = await ChildProcess.RunAsync(
            options.OpensslPath,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                "-subj", $"/CN={domain}",
                "-addext", $"subjectAltName=DNS:{domain},DNS:*.{domain}",
                "-keyout", layout.KeyPath, "-out", layout.CertificatePath,
            ],
            standardInput: null,
            options.ToolTimeout,
            cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"openssl req failed with exit code {exitCode}:\n{output}");
        }

        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(layout.CertificatePath, cancellationToken));
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var ports = new List<int> { C2sPort };
        if (ComponentPort is int componentPort)
        {
            ports.Add(componentPort);
        }

        if (ProxyPort is int proxyPort)
        {
            ports.Add(proxyPort);
        }

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(Options.StartTimeout);
        Task exited = _process.WaitForExitAsync(CancellationToken.None);
        try
        {
            foreach (int port in ports)
            {
                // Polling a foreign process's port: there is no other signal that Prosody is listening.
                while (!await AcceptsTcpAsync(port, timeoutCts.Token))
                {
                    if (exited.IsCompleted)
                    {
                        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
                        throw new InvalidOperationException(
                            $"Prosody exited with code {_process.ExitCode} during start.\n{LogTail}");
                    }

                    await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMilliseconds(50), timeoutCts.Token));
                    timeoutCts.Token.ThrowIfCancellationRequested();
                }
            }
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Prosody did not listen on {string.Join(", ", ports)} within {Options.StartTimeout.TotalSeconds:0.#} s.\n{LogTail}");
        }
    }

    private static async Task<bool> AcceptsTcpAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void AppendLog(string line)
    {
        lock (_logLock)
        {
            if (_logTail.Count == LogTailLines)
            {
                _ = _logTail.Dequeue();
            }

            _logTail.Enqueue(line);
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }
    }
}
