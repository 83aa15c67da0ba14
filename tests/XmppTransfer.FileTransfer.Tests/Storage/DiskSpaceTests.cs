using System.Security.Cryptography;
using XmppTransfer.FileTransfer.Storage;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// The free-space check both receive paths make: the bytes still to come, less the space a part overwritten from byte 0
/// gives back, against a free-space figure the tests choose.
/// </summary>
public sealed class DiskSpaceTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-space-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(1000, 1000, 0, true)]
    [InlineData(999, 1000, 0, false)]
    [InlineData(600, 1000, 400, true)]
    [InlineData(599, 1000, 400, false)]
    [InlineData(0, 1000, 4096, true)]
    [InlineData(0, 0, 0, true)]
    [InlineData(0, 1L << 50, 0, false)]
    public void Needed_bytes_fit_when_the_free_bytes_and_the_reclaimed_ones_cover_them(long free, long needed, long reclaimable, bool fits) =>
        Assert.Equal(fits, DiskSpace.Fits(free, needed, reclaimable));

    [Fact]
    public void A_part_that_does_not_exist_gives_nothing_back() =>
        Assert.Equal(0, DiskSpace.ReclaimableBytes(Path.Combine(_directory, "none.part")));

    [Fact]
    public async Task A_written_part_gives_back_the_blocks_stat_reports_for_it()
    {
        var part = Path.Combine(_directory, "written.part");
        await File.WriteAllBytesAsync(part, RandomNumberGenerator.GetBytes(50_001), Ct);

        var expected = OperatingSystem.IsLinux() ? await TransferTestKit.AllocatedBytesAsync(part, s_cap) : 50_001;
        Assert.Equal(expected, DiskSpace.ReclaimableBytes(part));
        Assert.InRange(expected, 50_001, long.MaxValue);
    }

    [Fact]
    public async Task A_preallocated_part_gives_back_its_blocks_not_just_its_length()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Allocated blocks are read on Linux only; elsewhere the length stands for them.");
        var part = Path.Combine(_directory, "preallocated.part");
        await using (var file = new FileStream(part, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, PreallocationSize = 1024 * 1024 }))
        {
            await file.WriteAsync(RandomNumberGenerator.GetBytes(1000), Ct);
        }

        var allocated = await TransferTestKit.AllocatedBytesAsync(part, s_cap);
        Assert.SkipWhen(allocated < 1024 * 1024, "This file system does not keep space preallocated past a file's length.");
        Assert.Equal(1000, new FileInfo(part).Length);
        Assert.Equal(allocated, DiskSpace.ReclaimableBytes(part));
    }

    [Fact]
    public async Task A_receive_from_the_start_counts_the_space_the_part_it_overwrites_holds_as_free()
    {
        const long Size = 100_000;
        var part = Path.Combine(_directory, "stale.part");
        await File.WriteAllBytesAsync(part, RandomNumberGenerator.GetBytes(60_000), Ct);
        var held = DiskSpace.ReclaimableBytes(part);

        Assert.True(DiskSpace.HasRoomFor(_directory, part, Size, 0, _ => Size - held));
        Assert.False(DiskSpace.HasRoomFor(_directory, part, Size, 0, _ => Size - held - 1));
    }

    [Fact]
    public async Task A_resumed_receive_keeps_its_part_and_needs_the_rest_of_the_file_free()
    {
        const long Size = 100_000;
        var part = Path.Combine(_directory, "resumed.part");
        await File.WriteAllBytesAsync(part, RandomNumberGenerator.GetBytes(60_000), Ct);

        Assert.True(DiskSpace.HasRoomFor(_directory, part, Size, 60_000, _ => 40_000));
        Assert.False(DiskSpace.HasRoomFor(_directory, part, Size, 60_000, _ => 39_999));
    }

    [Fact]
    public void Without_a_part_the_whole_file_must_be_free()
    {
        var part = Path.Combine(_directory, "fresh.part");

        Assert.True(DiskSpace.HasRoomFor(_directory, part, 100_000, 0, _ => 100_000));
        Assert.False(DiskSpace.HasRoomFor(_directory, part, 100_000, 0, _ => 99_999));
    }

    [Fact]
    public void Free_space_that_cannot_be_told_lets_the_receive_go_ahead() =>
        Assert.True(DiskSpace.HasRoomFor(_directory, Path.Combine(_directory, "any.part"), 1L << 50, 0, _ => null));

    [Fact]
    public void The_free_space_asked_about_is_that_of_the_receiving_folder()
    {
        string? asked = null;
        DiskSpace.HasRoomFor(_directory, Path.Combine(_directory, "x.part"), 1, 0, d =>
        {
            asked = d;
            return 1;
        });

        Assert.Equal(_directory, asked);
        Assert.NotNull(DiskSpace.FreeBytes(_directory));
    }
}
