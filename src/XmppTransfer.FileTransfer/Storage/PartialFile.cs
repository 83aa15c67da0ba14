using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace XmppTransfer.FileTransfer.Storage;

/// <summary>
/// An incomplete download kept for resuming (XEP-0096 range): <c>name.part</c> holds the bytes
/// received so far, <c>name.part.json</c> says which file they belong to (sender, name, size,
/// hashes). A new offer of the same file resumes from the part's length. Without a hash in the
/// offer we cannot know it is the same file, so we start over.
/// </summary>
internal sealed record PartialFile
{
    [JsonPropertyName("sender")]
    public required string Sender { get; init; }

    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("size")]
    public required long Size { get; init; }

    [JsonPropertyName("md5")]
    public string? Md5 { get; init; }

    [JsonPropertyName("sha256")]
    public string? Sha256 { get; init; }

    /// <summary>The largest metadata file read: ours hold a JID, a file name and two hashes (under 4 KiB with the longest of each).</summary>
    internal const int MaxMetadataBytes = 16 * 1024;

    public static string DataPath(string directory, string safeName) => Path.Combine(directory, safeName + ".part");

    public static string MetadataPath(string directory, string safeName) => DataPath(directory, safeName) + ".json";

    public bool Matches(PartialFile other) =>
        string.Equals(Sender, other.Sender, StringComparison.Ordinal)
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && Size == other.Size
        && (Md5 is not null || Sha256 is not null)
        && string.Equals(Md5, other.Md5, StringComparison.Ordinal)
        && string.Equals(Sha256, other.Sha256, StringComparison.Ordinal);

    /// <summary>
    /// How many bytes of a matching partial we already have (0 when none or different). A part longer than the file's size
    /// counts as none: it cannot be a prefix of the file, so nothing in it can be resumed from. The receive then starts
    /// over and overwrites the part from byte 0 (<see cref="PartData.Open"/> replaces it) rather than deleting it here:
    /// the part and its metadata go only when a new receive actually writes in their place, so an offer that is declined
    /// or fails before its first byte changes nothing on disk, and a file under its final name is never touched. An
    /// out-of-band offer has no size (-1) to compare with; its download applies the same rule once the server tells the
    /// file's length (a 416 whose length is no greater than the part's, see <c>OobDownloader.StartAsync</c>).
    /// </summary>
    public static long ResumableLength(string directory, string safeName, PartialFile wanted)
    {
        var data = DataPath(directory, safeName);
        var metadata = MetadataPath(directory, safeName);
        if (!File.Exists(data) || !File.Exists(metadata))
        {
            return 0;
        }

        try
        {
            // What we write is a few hundred bytes in plain files. Anything else was not written by us and is not opened: a
            // huge file is not read whole, a FIFO or device would block or never end, and a symbolic link (as part or
            // metadata) could make a resume append to a file outside the folder. A folder others can write to could hold
            // such things under every alternate name a lease looks at.
            var metadataInfo = new FileInfo(metadata);
            var dataInfo = new FileInfo(data);
            if (!IsPlainFile(metadataInfo) || !IsPlainFile(dataInfo) || metadataInfo.Length is 0 or > MaxMetadataBytes)
            {
                return 0;
            }

            // Read through a descriptor that followed no link and did not wait (ExistingPart): the checks above looked at the
            // names, and another user of the folder may have swapped the metadata for a link or a FIFO since.
            if (ExistingPart.ReadSmallText(metadata, MaxMetadataBytes) is not { } text)
            {
                return 0;
            }

            var existing = JsonSerializer.Deserialize<PartialFile>(text);
            var length = dataInfo.Length;
            return existing is not null && existing.Matches(wanted) && (wanted.Size < 0 || length <= wanted.Size) ? length : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    /// <summary>
    /// A regular file, not a link: by its type where that can be told (<see cref="FileKindProbe"/>); elsewhere by not being
    /// a link, a FIFO or device then being turned away by the length of 0 it reports (metadata of 0 bytes is refused, and
    /// a part of 0 bytes has nothing to resume from).
    /// </summary>
    private static bool IsPlainFile(FileInfo info) =>
        FileKindProbe.Of(info.FullName, followLinks: false) is { } kind ? kind == FileKind.RegularFile : info.LinkTarget is null;

    /// <summary>
    /// Writes the metadata next to the part. A metadata path that is a symbolic link, a FIFO or a device is replaced, not
    /// written through or opened (<see cref="ForeignPartEntry"/>): a FIFO with no reader would hold the receive for ever.
    /// Whatever was there is cleared and the file created exclusively (O_EXCL, <see cref="ForeignPartEntry.Clear"/>).
    /// </summary>
    public void Save(string directory, string safeName, ILogger logger)
    {
        var path = MetadataPath(directory, safeName);
        ForeignPartEntry.Clear(path, logger);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        JsonSerializer.Serialize(file, this);
    }

    public static void Delete(string directory, string safeName)
    {
        File.Delete(DataPath(directory, safeName));
        File.Delete(MetadataPath(directory, safeName));
    }

    /// <summary>
    /// Deletes the metadata of a part that was just published under its final name, if it can: a metadata file left behind
    /// describes a part that no longer exists and is never resumed from, so failing here must not fail the saved file.
    /// </summary>
    public static void TryDeleteMetadata(string directory, string safeName)
    {
        try
        {
            File.Delete(MetadataPath(directory, safeName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind, harmless (above).
        }
    }
}
