using System.Text.Json;
using System.Text.Json.Serialization;

namespace XmppTransfer.Cli.Connection;

/// <summary>
/// A named account in the profiles file (<c>~/.config/xft/profiles.json</c>, or the file named by
/// <c>XFT_PROFILES</c>). Options on the command line win over the profile. Secrets are not stored here:
/// <c>passwordFile</c> points at a file that holds the password.
/// </summary>
internal sealed record AccountProfile
{
    public const string FileVariable = "XFT_PROFILES";

    [JsonPropertyName("jid")]
    public string? Jid { get; init; }

    [JsonPropertyName("server")]
    public string? Server { get; init; }

    [JsonPropertyName("tls")]
    public string? Tls { get; init; }

    [JsonPropertyName("trustCertSha256")]
    public string? TrustCertSha256 { get; init; }

    [JsonPropertyName("caFile")]
    public string? CaFile { get; init; }

    [JsonPropertyName("passwordFile")]
    public string? PasswordFile { get; init; }

    public static string DefaultPath =>
        Environment.GetEnvironmentVariable(FileVariable) is { Length: > 0 } path
            ? path
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "xft", "profiles.json");

    /// <summary>Loads profile <paramref name="name"/>; a missing file or profile is a usage error that says where we looked.</summary>
    public static AccountProfile Load(string name, string? path = null)
    {
        path ??= DefaultPath;
        ProfilesFile? file;
        try
        {
            file = JsonSerializer.Deserialize<ProfilesFile>(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--profile {name}: cannot read {path} ({ex.Message}).");
        }
        catch (JsonException ex)
        {
            throw new UsageException($"--profile {name}: {path} is not valid JSON ({ex.Message}).");
        }

        return file?.Profiles?.GetValueOrDefault(name)
            ?? throw new UsageException($"--profile {name}: no such profile in {path} (expected {{\"profiles\": {{\"{name}\": {{\"jid\": ...}}}}}}).");
    }

    private sealed record ProfilesFile
    {
        [JsonPropertyName("profiles")]
        public Dictionary<string, AccountProfile>? Profiles { get; init; }
    }
}
