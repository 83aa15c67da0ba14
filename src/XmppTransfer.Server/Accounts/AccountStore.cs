using System.Security.Cryptography;
using System.Text.Json;
using XmppTransfer.Core;
using XmppTransfer.Core.Sasl;

namespace XmppTransfer.Server.Accounts;

/// <summary>
/// The accounts of one domain: a JSON file (<c>accounts.json</c> in the data folder) holding salted SCRAM-SHA-1 and
/// SCRAM-SHA-256 credentials only, never a password. Writes replace the file atomically (temporary file, flush,
/// rename) with mode 0600. A change made by another process (<c>xft server add-user</c> while the server runs) is
/// picked up at the next login, by the file's modification time. Without a path the store lives in memory.
/// </summary>
public sealed class AccountStore : IDisposable
{
    /// <summary>The file name inside the data folder.</summary>
    public const string FileName = "accounts.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly string? _path;
    private readonly int _iterations;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _lock = new();
    private Dictionary<string, StoredAccount> _accounts = new(StringComparer.Ordinal);
    private DateTime _loadedWriteTime;

    private AccountStore(string? path, int iterations)
    {
        _path = path;
        _iterations = iterations;
    }

    /// <summary>The account names, sorted.</summary>
    public IReadOnlyList<string> Users
    {
        get
        {
            ReloadIfChanged();
            lock (_lock)
            {
                return [.. _accounts.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Opens (or prepares to create) the accounts file at <paramref name="path"/>; null keeps accounts in memory.</summary>
    /// <param name="path">The accounts file.</param>
    /// <param name="iterations">PBKDF2 iterations for credentials stored from now on.</param>
    /// <param name="cancellationToken">Cancels reading the file.</param>
    public static async Task<AccountStore> OpenAsync(string? path, int iterations = 4096, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var store = new AccountStore(path, iterations);
        if (path is not null && File.Exists(path))
        {
            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                store._accounts = await ReadAsync(stream, path, cancellationToken).ConfigureAwait(false);
            }

            store._loadedWriteTime = File.GetLastWriteTimeUtc(path);
        }

        return store;
    }

    /// <summary>Normalizes a user name to the JID local part it stands for; throws <see cref="ArgumentException"/> when invalid.</summary>
    public static string NormalizeUser(string user)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        return Jid.TryParse(user + "@localhost", out var jid) && jid.Local is { Length: > 0 } local && jid.Resource is null && !user.Contains('@', StringComparison.Ordinal)
            ? local
            : throw new ArgumentException($"'{user}' is not a valid user name (the local part of a JID).", nameof(user));
    }

    /// <summary>Releases the write lock.</summary>
    public void Dispose() => _writeLock.Dispose();

    /// <summary>True when the account exists.</summary>
    public bool Exists(string user)
    {
        var name = NormalizeUser(user);
        ReloadIfChanged();
        lock (_lock)
        {
            return _accounts.ContainsKey(name);
        }
    }

    /// <summary>Creates an account; <see cref="InvalidOperationException"/> when it exists.</summary>
    public Task AddAsync(string user, string password, CancellationToken cancellationToken = default) =>
        UpdateAsync(user, password, mustExist: false, cancellationToken);

    /// <summary>Changes a password; <see cref="InvalidOperationException"/> when the account does not exist.</summary>
    public Task SetPasswordAsync(string user, string password, CancellationToken cancellationToken = default) =>
        UpdateAsync(user, password, mustExist: true, cancellationToken);

    /// <summary>Removes an account; false when there was none.</summary>
    public async Task<bool> RemoveAsync(string user, CancellationToken cancellationToken = default)
    {
        var name = NormalizeUser(user);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ReloadIfChanged();
            Dictionary<string, StoredAccount> next;
            lock (_lock)
            {
                if (!_accounts.ContainsKey(name))
                {
                    return false;
                }

                next = new Dictionary<string, StoredAccount>(_accounts, StringComparer.Ordinal);
                next.Remove(name);
            }

            await SaveAsync(next, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The credential of <paramref name="user"/> for the SCRAM hash, or null for an unknown user.</summary>
    internal ScramCredential? GetCredential(string user, ScramHashAlgorithm algorithm)
    {
        StoredAccount? account;
        lock (_lock)
        {
            _accounts.TryGetValue(user, out account);
        }

        if (account is null)
        {
            return null;
        }

        var stored = algorithm == ScramHashAlgorithm.Sha1 ? account.ScramSha1 : account.ScramSha256;
        try
        {
            return new ScramCredential(
                algorithm == ScramHashAlgorithm.Sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256",
                Convert.FromBase64String(stored.Salt),
                stored.Iterations,
                Convert.FromBase64String(stored.StoredKey),
                Convert.FromBase64String(stored.ServerKey));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Checks a PLAIN password against the stored SCRAM-SHA-256 credential (unknown users cost the same).</summary>
    internal bool VerifyPassword(string user, string password)
    {
        var credential = GetCredential(user, ScramHashAlgorithm.Sha256);
        var salt = credential?.Salt ?? new byte[16];
        var iterations = credential?.Iterations ?? _iterations;
        ScramCredential candidate;
        try
        {
            candidate = ScramCredential.Create(ScramHashAlgorithm.Sha256, password, iterations, salt);
        }
        catch (ArgumentException)
        {
            return false;
        }

        return credential is not null && CryptographicOperations.FixedTimeEquals(candidate.StoredKey, credential.StoredKey);
    }

    /// <summary>Re-reads the file when another process changed it.</summary>
    internal void ReloadIfChanged()
    {
        if (_path is null)
        {
            return;
        }

        try
        {
            var writeTime = File.Exists(_path) ? File.GetLastWriteTimeUtc(_path) : default;
            if (writeTime == _loadedWriteTime)
            {
                return;
            }

            using var stream = File.OpenRead(_path);
            var accounts = JsonSerializer.Deserialize<AccountsFile>(stream, s_json);
            lock (_lock)
            {
                _accounts = new Dictionary<string, StoredAccount>(accounts?.Accounts ?? [], StringComparer.Ordinal);
                _loadedWriteTime = writeTime;
            }
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            // Keep what we have; the writer replaces the file atomically, so this is a transient or a broken edit.
        }
    }

    private static async Task<Dictionary<string, StoredAccount>> ReadAsync(Stream stream, string path, CancellationToken cancellationToken)
    {
        try
        {
            var file = await JsonSerializer.DeserializeAsync<AccountsFile>(stream, s_json, cancellationToken).ConfigureAwait(false);
            return new Dictionary<string, StoredAccount>(file?.Accounts ?? [], StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The accounts file {path} is not valid JSON: {ex.Message}", ex);
        }
    }

    private async Task UpdateAsync(string user, string password, bool mustExist, CancellationToken cancellationToken)
    {
        var name = NormalizeUser(user);
        ArgumentException.ThrowIfNullOrEmpty(password);
        var account = new StoredAccount(
            Store(ScramCredential.Create(ScramHashAlgorithm.Sha1, password, _iterations)),
            Store(ScramCredential.Create(ScramHashAlgorithm.Sha256, password, _iterations)));
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ReloadIfChanged();
            Dictionary<string, StoredAccount> next;
            lock (_lock)
            {
                var exists = _accounts.ContainsKey(name);
                if (exists != mustExist)
                {
                    throw new InvalidOperationException(exists ? $"The account '{name}' already exists." : $"There is no account '{name}'.");
                }

                next = new Dictionary<string, StoredAccount>(_accounts, StringComparer.Ordinal) { [name] = account };
            }

            await SaveAsync(next, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static StoredCredential Store(ScramCredential credential) => new(
        Convert.ToBase64String(credential.Salt), credential.Iterations, Convert.ToBase64String(credential.StoredKey), Convert.ToBase64String(credential.ServerKey));

    private async Task SaveAsync(Dictionary<string, StoredAccount> accounts, CancellationToken cancellationToken)
    {
        if (_path is not null)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(_path))!;
            Directory.CreateDirectory(directory);
            var temporary = Path.Combine(directory, "." + Path.GetFileName(_path) + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".tmp");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                var stream = new FileStream(temporary, options);
                await using (stream.ConfigureAwait(false))
                {
                    var sorted = new Dictionary<string, StoredAccount>(accounts.OrderBy(a => a.Key, StringComparer.Ordinal), StringComparer.Ordinal);
                    await JsonSerializer.SerializeAsync(stream, new AccountsFile(1, sorted), s_json, cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, _path, overwrite: true);
            }
            catch
            {
                File.Delete(temporary);
                throw;
            }
        }

        lock (_lock)
        {
            _accounts = accounts;
            if (_path is not null)
            {
                _loadedWriteTime = File.GetLastWriteTimeUtc(_path);
            }
        }
    }
}
