using System.Net.Sockets;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests.Storage;

/// <summary>
/// The file type told without opening the file: a FIFO, a socket and a device apart from a regular file, links followed
/// or not. Linux only (statx); elsewhere the probe knows less, by design.
/// </summary>
public sealed class FileKindProbeTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-kind-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_fifo_without_a_writer_is_told_a_named_pipe_without_waiting_for_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        using var fifo = await Fifo.CreateAsync(Path.Combine(_directory, "pipe"), TestContext.Current.CancellationToken);

        // On a worker, capped: a probe that opened the FIFO would wait for a writer that never comes.
        var kind = await Task.Run(() => FileKindProbe.Of(fifo.Path, followLinks: true), TestContext.Current.CancellationToken).WaitAsync(s_cap);

        Assert.Equal(FileKind.NamedPipe, kind);
        Assert.True(FileKindProbe.IsSpecial(kind));
    }

    [Fact]
    public void A_regular_file_and_a_directory_are_told_as_such()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var file = Path.Combine(_directory, "file.bin");
        File.WriteAllBytes(file, [1, 2, 3]);

        Assert.Equal(FileKind.RegularFile, FileKindProbe.Of(file, followLinks: false));
        Assert.Equal(FileKind.Directory, FileKindProbe.Of(_directory, followLinks: true));
        Assert.False(FileKindProbe.IsSpecial(FileKind.RegularFile));
    }

    [Fact]
    public void A_symbolic_link_to_a_regular_file_is_that_file_when_followed_and_a_link_when_not()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var file = Path.Combine(_directory, "file.bin");
        File.WriteAllBytes(file, [1, 2, 3]);
        var link = Path.Combine(_directory, "link.bin");
        File.CreateSymbolicLink(link, file);

        Assert.Equal(FileKind.RegularFile, FileKindProbe.Of(link, followLinks: true));
        Assert.Equal(FileKind.SymbolicLink, FileKindProbe.Of(link, followLinks: false));
    }

    [Fact]
    public void A_missing_path_and_a_link_to_nothing_are_missing_when_followed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var dangling = Path.Combine(_directory, "dangling");
        File.CreateSymbolicLink(dangling, Path.Combine(_directory, "nothing"));

        Assert.Equal(FileKind.Missing, FileKindProbe.Of(Path.Combine(_directory, "nothing"), followLinks: true));
        Assert.Equal(FileKind.Missing, FileKindProbe.Of(Path.Combine(_directory, "nothing", "below"), followLinks: true));
        Assert.Equal(FileKind.Missing, FileKindProbe.Of(dangling, followLinks: true));
        Assert.Equal(FileKind.SymbolicLink, FileKindProbe.Of(dangling, followLinks: false));
    }

    [Fact]
    public void A_unix_socket_file_and_a_character_device_are_special()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var path = Path.Combine(_directory, "socket");

        // Held while the test looks: .NET removes a bound socket's file when the socket is disposed.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));

        Assert.Equal(FileKind.Socket, FileKindProbe.Of(path, followLinks: false));
        Assert.Equal(FileKind.CharacterDevice, FileKindProbe.Of("/dev/null", followLinks: true));
        Assert.True(FileKindProbe.IsSpecial(FileKind.Socket));
        Assert.True(FileKindProbe.IsSpecial(FileKind.CharacterDevice));
        Assert.Equal("a named pipe (FIFO)", FileKindProbe.Describe(FileKind.NamedPipe));
    }
}
