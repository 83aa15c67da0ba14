using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// A FIFO, socket or link planted where a receive writes its part (<c>name.part</c>) or its metadata
/// (<c>name.part.json</c>): never opened, waited on or written through, but replaced by a new plain file, and logged.
/// Every call that could wait on a FIFO runs on a worker under a cap, and every FIFO is released when its test ends.
/// </summary>
public sealed class ForeignPartEntryTests : IDisposable
{
    /// <summary>FileTransferLog.ForeignPartReplaced.</summary>
    private const int ForeignPartReplacedEvent = 3014;

    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private static readonly PartialFile s_file = new()
    {
        Sender = "alice@example.org",
        Name = "x.bin",
        Size = 1000,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData("x.bin"u8)),
    };

    private readonly string _directory = Directory.CreateTempSubdirectory("xft-foreign-").FullName;
    private readonly RecordingLoggerFactory _log = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_fresh_part_that_is_a_fifo_is_replaced_without_being_opened_and_the_replacement_is_logged()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var part = PartialFile.DataPath(_directory, "x.bin");
        using var fifo = await Fifo.CreateAsync(part, TestContext.Current.CancellationToken);

        await Task.Run(
            () =>
            {
                using var stream = PartData.Open(part, resumeFrom: 0, remaining: 10, _log.CreateLogger("test"));
                stream.Write([7, 8, 9]);
            },
            TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(FileKind.RegularFile, FileKindProbe.Of(part, followLinks: false));
        Assert.Equal([7, 8, 9], File.ReadAllBytes(part));
        var logged = Assert.Single(_log.Events, e => e.Id.Id == ForeignPartReplacedEvent);
        Assert.Contains("a named pipe (FIFO)", logged.Message, StringComparison.Ordinal);
        Assert.Contains(part, logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fresh_part_that_is_a_hard_link_to_another_file_is_replaced_and_that_file_keeps_its_bytes()
    {
        var other = Path.Combine(_directory, "precious.txt");
        await File.WriteAllBytesAsync(other, [1, 2, 3], TestContext.Current.CancellationToken);
        var part = PartialFile.DataPath(_directory, "x.bin");
        await HardLinkAsync(other, part);

        using (var stream = PartData.Open(part, resumeFrom: 0, remaining: 10, _log.CreateLogger("test")))
        {
            stream.Write([9]);
        }

        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(other, TestContext.Current.CancellationToken));
        Assert.Equal([9], await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Metadata_that_is_a_hard_link_to_another_file_is_replaced_and_that_file_keeps_its_bytes()
    {
        var other = Path.Combine(_directory, "precious.txt");
        await File.WriteAllBytesAsync(other, [1, 2, 3], TestContext.Current.CancellationToken);
        var metadata = PartialFile.MetadataPath(_directory, "x.bin");
        await HardLinkAsync(other, metadata);

        s_file.Save(_directory, "x.bin", _log.CreateLogger("test"));

        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(other, TestContext.Current.CancellationToken));
        Assert.Contains(s_file.Sha256!, await File.ReadAllTextAsync(metadata, TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    /// <summary>A second name for <paramref name="target"/> (ln(1): .NET has no call for hard links).</summary>
    private static async Task HardLinkAsync(string target, string link)
    {
        using var ln = System.Diagnostics.Process.Start("ln", [target, link]);
        await ln.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_cap);
        Assert.Equal(0, ln.ExitCode);
    }

    [Fact]
    public void A_fresh_part_that_is_a_socket_is_replaced_by_a_new_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var part = PartialFile.DataPath(_directory, "x.bin");

        // Held to the end: .NET removes a bound socket's file (by then the new part) when the socket is disposed.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(part));
        Assert.Equal(FileKind.Socket, FileKindProbe.Of(part, followLinks: false));

        using (var stream = PartData.Open(part, resumeFrom: 0, remaining: 10, _log.CreateLogger("test")))
        {
            stream.Write([1]);
        }

        Assert.Equal([1], File.ReadAllBytes(part));
        Assert.Single(_log.Events, e => e.Id.Id == ForeignPartReplacedEvent);
    }

    [Fact]
    public void A_stale_regular_part_is_overwritten_in_place_and_nothing_is_logged()
    {
        var part = PartialFile.DataPath(_directory, "x.bin");
        File.WriteAllBytes(part, [1, 2, 3, 4, 5]);

        using (var stream = PartData.Open(part, resumeFrom: 0, remaining: 10, _log.CreateLogger("test")))
        {
            stream.Write([6]);
        }

        Assert.Equal([6], File.ReadAllBytes(part));
        Assert.DoesNotContain(_log.Events, e => e.Id.Id == ForeignPartReplacedEvent);
    }

    [Fact]
    public async Task Metadata_that_is_a_fifo_is_replaced_when_saved_instead_of_waiting_for_a_reader()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        using var fifo = await Fifo.CreateAsync(PartialFile.MetadataPath(_directory, "x.bin"), TestContext.Current.CancellationToken);

        await Task.Run(() => s_file.Save(_directory, "x.bin", _log.CreateLogger("test")), TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(FileKind.RegularFile, FileKindProbe.Of(fifo.Path, followLinks: false));
        Assert.Contains(s_file.Sha256!, File.ReadAllText(fifo.Path), StringComparison.Ordinal);
        Assert.Single(_log.Events, e => e.Id.Id == ForeignPartReplacedEvent);
    }

    [Fact]
    public void Metadata_that_is_a_symbolic_link_is_replaced_not_written_through()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var outside = Directory.CreateTempSubdirectory("xft-outside-").FullName;
        try
        {
            var target = Path.Combine(outside, "victim.json");
            File.WriteAllText(target, "keep");
            var metadata = PartialFile.MetadataPath(_directory, "x.bin");
            File.CreateSymbolicLink(metadata, target);

            s_file.Save(_directory, "x.bin", _log.CreateLogger("test"));

            Assert.Equal("keep", File.ReadAllText(target));
            Assert.Null(new FileInfo(metadata).LinkTarget);
            Assert.Contains(s_file.Sha256!, File.ReadAllText(metadata), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_part_that_is_a_fifo_is_never_resumed_from_even_under_metadata_of_the_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        s_file.Save(_directory, "x.bin.2", NullLogger.Instance);
        using var fifo = await Fifo.CreateAsync(PartialFile.DataPath(_directory, "x.bin.2"), TestContext.Current.CancellationToken);

        var length = await Task.Run(() => PartialFile.ResumableLength(_directory, "x.bin.2", s_file), TestContext.Current.CancellationToken).WaitAsync(s_cap);
        using var lease = await Task.Run(() => PartNames.Take(_directory, "x.bin", s_file), TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(0, length);
        Assert.Equal("x.bin", lease.Name);
        Assert.Equal(FileKind.NamedPipe, FileKindProbe.Of(fifo.Path, followLinks: false));
    }

    [Fact]
    public void A_part_that_is_a_link_to_a_large_file_counts_no_space_as_freed_by_its_replacement()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var target = Path.Combine(_directory, "large.bin");
        File.WriteAllBytes(target, new byte[64 * 1024]);
        var part = PartialFile.DataPath(_directory, "x.bin");
        File.CreateSymbolicLink(part, target);

        Assert.Equal(0, DiskSpace.ReclaimableBytes(part));
        Assert.True(DiskSpace.ReclaimableBytes(target) >= 64 * 1024);
    }
}
