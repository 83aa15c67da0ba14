using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// A resume checks <c>name.part</c> and <c>name.part.json</c> by name, hashes the part's prefix, and only later opens the
/// part to append: another user of a shared folder can swap either name in between. What is written to (or read as
/// metadata) must be the file that was checked, opened without following a link or waiting on a FIFO. Every call that
/// could wait on a FIFO runs on a worker under a cap.
/// </summary>
public sealed class ExistingPartTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("xft-existing-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("xft-outside-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public async Task A_resumed_part_swapped_for_a_link_after_its_prefix_was_hashed_is_refused_and_the_linked_file_keeps_its_bytes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Opening without following links is done on Linux.");
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));

        // The swap: our part goes, a link to a file outside the folder takes its name.
        var victim = Path.Combine(_outside, "victim.txt");
        await File.WriteAllBytesAsync(victim, [9, 9, 9, 9, 9, 9], TestContext.Current.CancellationToken);
        File.Delete(part);
        File.CreateSymbolicLink(part, victim);

        var refused = Assert.Throws<FileTransferException>(() => PartData.Open(part, resumeFrom: 4, remaining: 6, NullLogger.Instance, hashing.Part));

        Assert.Equal(FileTransferErrorKind.LocalIo, refused.ErrorKind);
        Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);
        Assert.Equal([9, 9, 9, 9, 9, 9], await File.ReadAllBytesAsync(victim, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_resumed_part_swapped_for_a_fifo_after_its_prefix_was_hashed_is_refused_without_waiting()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Opening without waiting is done on Linux.");
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        File.Delete(part);
        using var fifo = await Fifo.CreateAsync(part, TestContext.Current.CancellationToken);

        var refused = await Assert.ThrowsAsync<FileTransferException>(
            () => Task.Run(() => PartData.Open(part, resumeFrom: 4, remaining: 6, NullLogger.Instance, hashing.Part).Dispose(), TestContext.Current.CancellationToken)
                .WaitAsync(s_cap));

        Assert.Contains("not a regular file", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resumed_part_swapped_for_another_plain_file_after_its_prefix_was_hashed_is_refused_and_left_unwritten()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "A file's identity is told by statx, on Linux only.");
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        var swapped = Path.Combine(_directory, "swapped");
        await File.WriteAllBytesAsync(swapped, [5, 5, 5, 5], TestContext.Current.CancellationToken);
        File.Move(swapped, part, overwrite: true);

        var refused = Assert.Throws<FileTransferException>(() => PartData.Open(part, resumeFrom: 4, remaining: 6, NullLogger.Instance, hashing.Part));

        Assert.Contains("no longer the file that was checked", refused.Message, StringComparison.Ordinal);
        Assert.Equal([5, 5, 5, 5], await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_part_unchanged_since_its_check_is_opened_for_the_resume()
    {
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));

        using (var stream = PartData.Open(part, resumeFrom: 4, remaining: 6, NullLogger.Instance, hashing.Part))
        {
            stream.Position = 4;
            stream.Write([5, 6]);
        }

        Assert.Equal([1, 2, 3, 4, 5, 6], await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_part_with_a_second_name_is_not_resumed_from()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Link counts are told by statx, on Linux only.");
        var part = await PlantPartAsync();
        using (var ln = System.Diagnostics.Process.Start("ln", [part, Path.Combine(_outside, "second-name")]))
        {
            await ln.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
            Assert.Equal(0, ln.ExitCode);
        }

        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);

        Assert.False(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        Assert.Null(hashing.Part);
    }

    [Fact]
    public async Task Metadata_swapped_for_a_fifo_or_a_link_is_read_as_none_without_waiting()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Opening without following links or waiting is done on Linux.");
        var fifoPath = Path.Combine(_directory, "a.part.json");
        using var fifo = await Fifo.CreateAsync(fifoPath, TestContext.Current.CancellationToken);
        var outsideMetadata = Path.Combine(_outside, "b.part.json");
        await File.WriteAllTextAsync(outsideMetadata, "{}", TestContext.Current.CancellationToken);
        var linkPath = Path.Combine(_directory, "b.part.json");
        File.CreateSymbolicLink(linkPath, outsideMetadata);

        var fromFifo = await Task.Run(() => ExistingPart.ReadSmallText(fifoPath, PartialFile.MaxMetadataBytes), TestContext.Current.CancellationToken).WaitAsync(s_cap);
        var fromLink = ExistingPart.ReadSmallText(linkPath, PartialFile.MaxMetadataBytes);

        Assert.Null(fromFifo);
        Assert.Null(fromLink);
    }

    [Fact]
    public async Task A_second_resume_of_a_part_another_receiver_is_writing_is_refused_and_the_first_keeps_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The descriptor is locked by us on Linux (elsewhere the path-based open locks as .NET does).");
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        await using var first = PartData.Open(part, resumeFrom: 4, remaining: 2, NullLogger.Instance, hashing.Part);

        var refused = Assert.Throws<FileTransferException>(() => PartData.Open(part, resumeFrom: 4, remaining: 2, NullLogger.Instance, hashing.Part));

        Assert.Equal(FileTransferErrorKind.LocalIo, refused.ErrorKind);
        Assert.Contains("being used by another process", refused.Message, StringComparison.Ordinal);
        first.Position = 4;
        await first.WriteAsync(new byte[] { 5, 6 }, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_part_being_written_is_not_hashed_for_a_second_resume_and_one_being_hashed_is_not_written()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The descriptor is locked by us on Linux (elsewhere the path-based open locks as .NET does).");
        var part = await PlantPartAsync();
        using var hashing = ReceiveHashing.For(Identity(), computeSha256: true);
        Assert.True(await hashing.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        using (var writing = PartData.Open(part, resumeFrom: 4, remaining: 2, NullLogger.Instance, hashing.Part))
        {
            // Not "unreadable, start over" (that would unlink the part being written): in use, for the receive to refuse.
            using var second = ReceiveHashing.For(Identity(), computeSha256: true);
            await Assert.ThrowsAsync<PartInUseException>(() => second.TryAppendPrefixAsync(part, 4, TestContext.Current.CancellationToken).WaitAsync(s_cap));
        }

        var reading = ExistingPart.TryOpen(part, write: false, expected: null, out _);
        Assert.NotNull(reading);
        using (reading.Value.Stream)
        {
            var shared = ExistingPart.TryOpen(part, write: false, expected: null, out _);
            Assert.NotNull(shared);
            shared.Value.Stream.Dispose();
            Assert.Throws<PartInUseException>(() => ExistingPart.TryOpen(part, write: true, expected: null, out _));
        }
    }

    [Theory]
    [InlineData(System.Runtime.InteropServices.Architecture.X64, 0x20000 | 0x100 | 0x800 | 0x80000)]
    [InlineData(System.Runtime.InteropServices.Architecture.Arm64, 0x8000 | 0x100 | 0x800 | 0x80000)]
    [InlineData(System.Runtime.InteropServices.Architecture.X86, 0x20000 | 0x8000 | 0x100 | 0x800 | 0x80000)]
    [InlineData(System.Runtime.InteropServices.Architecture.Arm, 0x8000 | 0x20000 | 0x100 | 0x800 | 0x80000)]
    [InlineData(System.Runtime.InteropServices.Architecture.RiscV64, 0)]
    public void The_no_follow_open_adds_no_ctty_everywhere_and_large_file_on_32_bit_architectures(System.Runtime.InteropServices.Architecture architecture, int flags) =>
        Assert.Equal(flags, XmppTransfer.FileTransfer.Storage.Linux.NoFollowOpenNative.OpenFlags(architecture));

    private static PartialFile Identity() => new()
    {
        Sender = "alice@example.org",
        Name = "x.bin",
        Size = 6,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(new byte[] { 1, 2, 3, 4, 5, 6 })),
    };

    private async Task<string> PlantPartAsync()
    {
        var part = PartialFile.DataPath(_directory, "x.bin");
        await File.WriteAllBytesAsync(part, [1, 2, 3, 4], TestContext.Current.CancellationToken);
        return part;
    }
}
