using Microsoft.Win32.SafeHandles;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.FileTransfer.Storage.Linux;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// A finished part is saved by the open file it was written and verified through, not by its name: whatever takes the
/// name <c>name.part</c> after the check is never published, a final name taken at the last moment is never replaced, and
/// an overwrite swaps the final name in one step. Where links are refused (simulated by the link call the commit takes),
/// the part is moved by name as before. Every test has its own folder.
/// </summary>
public sealed class PartPublicationTests : IDisposable
{
    private const int PartNameReplacedEvent = 3015;
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private static readonly byte[] s_verified = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly byte[] s_other = [9, 9, 9];

    private readonly string _directory = Directory.CreateTempSubdirectory("xft-publish-").FullName;
    private readonly RecordingLoggerFactory _log = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string PartPath => PartialFile.DataPath(_directory, "x.bin");

    private string At(string name) => Path.Combine(_directory, name);

    [Fact]
    public async Task A_part_renamed_over_after_verification_is_published_from_the_verified_file_and_the_other_file_is_left_alone()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var part = await WritePartAsync();

        // The swap: another file renamed over the part's name, which leaves our file with no name at all.
        var other = At("other");
        await File.WriteAllBytesAsync(other, s_other, Ct);
        File.Move(other, PartPath, overwrite: true);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct).WaitAsync(s_cap, Ct);

        Assert.Equal(At("x.bin"), saved);
        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(s_other, await File.ReadAllBytesAsync(PartPath, Ct));
        Assert.Empty(Directory.GetFiles(_directory, ".xft-*"));
        Assert.Contains(_log.Events, e => e.Id.Id == PartNameReplacedEvent);
    }

    [Fact]
    public async Task A_part_moved_away_and_replaced_after_verification_is_published_from_the_verified_file_and_the_new_one_is_left_alone()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var part = await WritePartAsync();
        File.Move(PartPath, At("moved"));
        await File.WriteAllBytesAsync(PartPath, s_other, Ct);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct).WaitAsync(s_cap, Ct);

        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(s_other, await File.ReadAllBytesAsync(PartPath, Ct));
        Assert.True(File.Exists(PartialFile.MetadataPath(_directory, "x.bin")), "the metadata beside another file is not ours to remove");
        Assert.Contains(_log.Events, e => e.Id.Id == PartNameReplacedEvent);
    }

    [Fact]
    public async Task A_part_left_in_place_is_published_under_its_name_and_its_part_and_metadata_are_removed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var part = await WritePartAsync();
        var identity = Stamp(part.SafeFileHandle);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct).WaitAsync(s_cap, Ct);

        Assert.Equal(identity, StatxNative.StampOf(saved));
        Assert.Equal(["x.bin"], Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName));
        Assert.DoesNotContain(_log.Events, e => e.Id.Id == PartNameReplacedEvent);
    }

    [Fact]
    public async Task A_final_name_taken_by_another_process_just_before_publication_sends_the_file_to_the_next_free_name()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var part = await WritePartAsync();

        // The other process creates x.bin after the name was chosen, just as the link is made.
        var raced = false;
        int TakenFirst(SafeFileHandle file, string path)
        {
            if (!raced)
            {
                raced = true;
                File.WriteAllBytes(path, s_other);
            }

            return LinkNative.LinkOpenFile(file, path);
        }

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct, TakenFirst).WaitAsync(s_cap, Ct);

        Assert.Equal(At("x (1).bin"), saved);
        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(s_other, await File.ReadAllBytesAsync(At("x.bin"), Ct));
        Assert.False(File.Exists(PartPath));
    }

    [Fact]
    public async Task An_overwrite_swaps_the_final_name_from_the_old_file_to_the_verified_one_in_one_step()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var final = At("x.bin");
        await File.WriteAllBytesAsync(final, s_other, Ct);
        var part = await WritePartAsync();
        var identity = Stamp(part.SafeFileHandle);

        // What the final name holds at the moment our file gets its temporary name: still the whole old file.
        byte[]? duringPublication = null;
        int Watching(SafeFileHandle file, string path)
        {
            duringPublication = File.ReadAllBytes(final);
            return LinkNative.LinkOpenFile(file, path);
        }

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: true, part, _log, Ct, Watching).WaitAsync(s_cap, Ct);

        Assert.Equal(final, saved);
        Assert.Equal(s_other, duringPublication);
        Assert.Equal(identity, StatxNative.StampOf(final));
        Assert.Equal(s_verified, await File.ReadAllBytesAsync(final, Ct));
        Assert.Equal(["x.bin"], Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Where_links_are_refused_the_part_is_moved_by_name_to_the_first_free_name()
    {
        var part = await WritePartAsync();
        await File.WriteAllBytesAsync(At("x.bin"), s_other, Ct);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct, Refused).WaitAsync(s_cap, Ct);

        Assert.Equal(At("x (1).bin"), saved);
        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(s_other, await File.ReadAllBytesAsync(At("x.bin"), Ct));
        Assert.False(File.Exists(PartPath));
        Assert.False(File.Exists(PartialFile.MetadataPath(_directory, "x.bin")));
    }

    [Fact]
    public async Task Where_links_are_refused_an_overwrite_replaces_the_final_name_by_name()
    {
        var part = await WritePartAsync();
        await File.WriteAllBytesAsync(At("x.bin"), s_other, Ct);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: true, part, _log, Ct, Refused).WaitAsync(s_cap, Ct);

        Assert.Equal(At("x.bin"), saved);
        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(["x.bin"], Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Where_links_are_refused_a_part_name_swapped_after_verification_still_publishes_the_verified_bytes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Publishing by the open file is done on Linux.");
        var part = await WritePartAsync();
        File.Move(PartPath, At("moved"));
        await File.WriteAllBytesAsync(PartPath, s_other, Ct);

        var saved = await PartNames.CommitAsync(_directory, "x.bin", "x.bin", overwrite: false, part, _log, Ct, Refused).WaitAsync(s_cap, Ct);

        Assert.Equal(s_verified, await File.ReadAllBytesAsync(saved, Ct));
        Assert.Equal(s_other, await File.ReadAllBytesAsync(PartPath, Ct));
        Assert.Empty(Directory.GetFiles(_directory, ".xft-*"));
    }

    /// <summary>A file system without hard links (FAT, some FUSE ones): linkat fails with EPERM.</summary>
    private static int Refused(SafeFileHandle file, string path) => LinkNative.EPERM;

    private static PartStamp? Stamp(SafeFileHandle file)
    {
        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return NoFollowOpenNative.Describe((int)file.DangerousGetHandle())?.Stamp;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>The part as a receive leaves it when verified: written through a handle still open, its metadata beside it.</summary>
    private async Task<FileStream> WritePartAsync()
    {
        await File.WriteAllTextAsync(PartialFile.MetadataPath(_directory, "x.bin"), "{}", Ct);
        var part = new FileStream(PartPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        await RandomAccess.WriteAsync(part.SafeFileHandle, s_verified, 0, Ct);
        return part;
    }
}
