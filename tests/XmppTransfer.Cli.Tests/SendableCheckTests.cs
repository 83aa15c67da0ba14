using System.Net.Sockets;
using XmppTransfer.Cli.Commands;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// <c>xft send</c>'s check of each FILE before logging in (SendCommand.CheckSendable): regular files and links to them
/// pass; FIFOs, sockets and devices are usage errors that name the kind, told without opening anything.
/// </summary>
public sealed class SendableCheckTests : IDisposable
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("xft-sendable-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_symbolic_link_to_a_regular_file_can_be_sent()
    {
        var file = Path.Combine(_directory, "real.bin");
        File.WriteAllBytes(file, [1, 2, 3]);
        var link = Path.Combine(_directory, "link.bin");
        File.CreateSymbolicLink(link, file);

        SendCommand.CheckSendable(file);
        SendCommand.CheckSendable(link);
    }

    [Fact]
    public async Task A_symbolic_link_to_a_fifo_is_refused_without_opening_the_fifo()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        using var fifo = await Fifo.CreateAsync(Path.Combine(_directory, "pipe"), TestContext.Current.CancellationToken);
        var link = Path.Combine(_directory, "link");
        File.CreateSymbolicLink(link, fifo.Path);

        // On a worker, capped: a check that opened the FIFO would wait for a writer that never comes.
        var error = await Assert.ThrowsAsync<UsageException>(
            () => Task.Run(() => SendCommand.CheckSendable(link), TestContext.Current.CancellationToken).WaitAsync(s_cap));

        Assert.Equal($"{link} is a named pipe (FIFO), not a regular file; only regular files can be sent: save it to a file first.", error.Message);
    }

    [Fact]
    public void A_socket_and_a_character_device_are_refused_by_their_kind()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var path = Path.Combine(_directory, "socket");

        // Held while checked: .NET removes a bound socket's file when the socket is disposed.
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));

        Assert.Contains("is a socket", Assert.Throws<UsageException>(() => SendCommand.CheckSendable(path)).Message, StringComparison.Ordinal);
        Assert.Contains("is a character device", Assert.Throws<UsageException>(() => SendCommand.CheckSendable("/dev/null")).Message, StringComparison.Ordinal);
    }
}
