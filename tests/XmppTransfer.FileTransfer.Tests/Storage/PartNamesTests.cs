using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// Which part name a receive's lease takes: a free part of the file it receives (under the primary name or an alternate
/// one left by a receive that failed), else the primary name or the first free alternate; never one another receive holds.
/// Every test has its own folder, so the process-wide leases of tests running alongside do not meet.
/// </summary>
public sealed class PartNamesTests : IDisposable
{
    private static readonly PartialFile s_file = new()
    {
        Sender = "alice@example.org",
        Name = "x.bin",
        Size = 1000,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData("x.bin"u8)),
    };

    private readonly string _directory = Directory.CreateTempSubdirectory("xft-parts-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_lease_for_a_file_takes_the_free_alternate_that_holds_a_part_of_it()
    {
        Leave("x.bin.2", s_file, 400);

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin.2", lease.Name);
    }

    [Fact]
    public void A_part_of_the_file_under_the_primary_name_comes_before_one_under_an_alternate()
    {
        Leave("x.bin", s_file, 100);
        Leave("x.bin.3", s_file, 900);

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin", lease.Name);
    }

    [Fact]
    public void Two_leases_for_one_file_at_the_same_time_never_share_its_part()
    {
        Leave("x.bin.2", s_file, 400);

        using var first = PartNames.Take(_directory, "x.bin", s_file);
        using var second = PartNames.Take(_directory, "x.bin", s_file);
        using var third = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin.2", first.Name);
        Assert.Equal("x.bin", second.Name);
        Assert.Equal("x.bin.3", third.Name);
    }

    [Fact]
    public void A_part_another_process_is_writing_is_passed_over_and_left_as_it_is()
    {
        // Another xft receive into the same folder writes x.bin.part for a different file of the same name: its lease is in
        // that process, but its part is open and locked as PartData.Open leaves it.
        var other = Leave("x.bin", s_file with { Size = 2000 }, 400);
        var before = Snapshot(other);
        using (var writing = new FileStream(other, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            using var fresh = PartNames.Take(_directory, "x.bin");
            using var resumable = PartNames.Take(_directory, "x.bin", s_file);

            Assert.Equal("x.bin.2", fresh.Name);
            Assert.Equal("x.bin.3", resumable.Name);
        }

        Assert.Equal(before, Snapshot(other));
    }

    [Fact]
    public void A_part_nobody_has_open_under_the_primary_name_is_still_taken_for_a_fresh_receive()
    {
        Leave("x.bin", s_file with { Size = 2000 }, 400);

        using var lease = PartNames.Take(_directory, "x.bin");

        Assert.Equal("x.bin", lease.Name);
    }

    [Fact]
    public void A_released_part_of_the_file_is_taken_again_by_the_next_lease()
    {
        Leave("x.bin.2", s_file, 400);
        using (var failed = PartNames.Take(_directory, "x.bin", s_file))
        {
            Assert.Equal("x.bin.2", failed.Name);
        }

        using var again = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin.2", again.Name);
    }

    [Fact]
    public void Parts_of_other_files_are_passed_over_and_left_as_they_were()
    {
        var parts = new[]
        {
            Leave("x.bin", s_file with { Size = 2000 }, 400),
            Leave("x.bin.2", s_file with { Size = 2000 }, 400),
            Leave("x.bin.3", s_file with { Sender = "mallory@example.org" }, 400),
            Leave("x.bin.4", s_file with { Sha256 = Convert.ToHexStringLower(SHA256.HashData("other"u8)) }, 400),
            Leave("x.bin.5", s_file with { Sha256 = null }, 400),
            Leave("x.bin.6", s_file, 1001), // longer than the file: no prefix of it
        };
        var before = parts.Select(Snapshot).ToArray();

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin", lease.Name);
        Assert.Equal(before, parts.Select(Snapshot));
    }

    [Fact]
    public void A_part_whose_metadata_is_not_json_is_passed_over()
    {
        Leave("x.bin.2", s_file, 400);
        File.WriteAllText(PartialFile.MetadataPath(_directory, "x.bin.2"), "{ not json");

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin", lease.Name);
    }

    [Fact]
    public void A_part_whose_metadata_is_larger_than_any_we_write_is_passed_over_without_being_read()
    {
        Leave("x.bin.2", s_file, 400);

        // Valid JSON describing this very file, padded past the limit: it would match if it were read.
        var padded = File.ReadAllText(PartialFile.MetadataPath(_directory, "x.bin.2")).TrimEnd('}') + ",\"pad\":\"" + new string('a', PartialFile.MaxMetadataBytes) + "\"}";
        File.WriteAllText(PartialFile.MetadataPath(_directory, "x.bin.2"), padded);

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin", lease.Name);
    }

    [Fact]
    public void A_part_that_is_a_symbolic_link_is_passed_over_and_what_it_points_to_is_left_alone()
    {
        var outside = Directory.CreateTempSubdirectory("xft-outside-").FullName;
        try
        {
            var target = Path.Combine(outside, "victim.bin");
            File.WriteAllBytes(target, new byte[400]);
            Leave("x.bin.2", s_file, 400);
            File.Delete(PartialFile.DataPath(_directory, "x.bin.2"));
            File.CreateSymbolicLink(PartialFile.DataPath(_directory, "x.bin.2"), target);

            using var lease = PartNames.Take(_directory, "x.bin", s_file);

            Assert.Equal("x.bin", lease.Name);
            Assert.Equal(400, new FileInfo(target).Length);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void A_fresh_part_that_is_a_symbolic_link_is_replaced_not_written_through()
    {
        var outside = Directory.CreateTempSubdirectory("xft-outside-").FullName;
        try
        {
            var target = Path.Combine(outside, "victim.bin");
            File.WriteAllBytes(target, [1, 2, 3]);
            var part = PartialFile.DataPath(_directory, "x.bin");
            File.CreateSymbolicLink(part, target);

            using (var stream = PartData.Open(part, resumeFrom: 0, remaining: 10, NullLogger.Instance))
            {
                stream.Write([9, 9]);
            }

            Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
            Assert.Null(new FileInfo(part).LinkTarget);
            Assert.Equal([9, 9], File.ReadAllBytes(part));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void A_part_past_the_bounded_look_is_not_looked_at()
    {
        Leave($"x.bin.{PartNames.MaxResumeCandidates + 1}", s_file, 400);
        Leave($"x.bin.{PartNames.MaxResumeCandidates}", s_file with { Size = 2000 }, 400);

        using var lease = PartNames.Take(_directory, "x.bin", s_file);

        Assert.Equal("x.bin", lease.Name);
    }

    [Fact]
    public void Without_a_file_to_resume_a_lease_takes_the_primary_name_as_it_always_did()
    {
        Leave("x.bin.2", s_file, 400);

        using var lease = PartNames.Take(_directory, "x.bin");

        Assert.Equal("x.bin", lease.Name);
    }

    private string Leave(string partName, PartialFile describes, int length)
    {
        var part = PartialFile.DataPath(_directory, partName);
        File.WriteAllBytes(part, RandomNumberGenerator.GetBytes(length));
        describes.Save(_directory, partName, NullLogger.Instance);
        return part;
    }

    private static string Snapshot(string part) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(part))) + " " + File.ReadAllText(part + ".json");
}
