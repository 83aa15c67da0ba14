using XmppTransfer.Core;
using XmppTransfer.FileTransfer.Storage;
using XmppTransfer.Testing;

namespace XmppTransfer.FileTransfer.Tests;

/// <summary>
/// FIFOs and links on either side of a real transfer over the loopback router: the sender refuses a FIFO (or a link to
/// one) before opening it and sends a link to a regular file as that file; the receiver replaces a FIFO planted where
/// its part goes. Calls that would wait on a FIFO if they opened it run on a worker under a cap, and every FIFO is
/// released when its test ends, so a regression fails the test instead of hanging it.
/// </summary>
public sealed class NonRegularFileTransferTests : IAsyncLifetime
{
    /// <summary>FileTransferLog.ForeignPartReplaced.</summary>
    private const int ForeignPartReplacedEvent = 3014;

    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("xft-nonregular-").FullName;
    private LoopbackRouter _router = null!;
    private XmppClient _alice = null!;
    private XmppClient _bob = null!;
    private FileTransferManager _aliceFiles = null!;
    private FileTransferManager _bobFiles = null!;
    private RecordingLoggerFactory _bobLog = null!;

    public async ValueTask InitializeAsync()
    {
        _router = new LoopbackRouter();
        _aliceFiles = new FileTransferManager();
        _bobFiles = new FileTransferManager();
        _bobLog = new RecordingLoggerFactory();
        _alice = await _router.ConnectAsync("alice", c => c.AddExtension(_aliceFiles));
        _bob = await _router.ConnectAsync("bob", c => c.AddExtension(_bobFiles), _router.ClientOptions("bob") with { LoggerFactory = _bobLog });
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _router.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(TransferMethodPreference.Ibb)]
    [InlineData(TransferMethodPreference.Oob)]
    public async Task A_fifo_without_a_writer_is_refused_by_the_send_with_a_local_io_error_instead_of_waiting(TransferMethodPreference method)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        using var fifo = await Fifo.CreateAsync(Path.Combine(_root, "pipe"), TestContext.Current.CancellationToken);

        var send = Task.Run(() => _aliceFiles.SendFileAsync(_bob.BoundJid, fifo.Path, new FileSendOptions { Method = method }), TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.LocalIo, error.ErrorKind);
        Assert.Contains("named pipe (FIFO)", error.Message, StringComparison.Ordinal);
        Assert.Contains(fifo.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_symbolic_link_to_a_fifo_is_refused_as_the_fifo_is()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        using var fifo = await Fifo.CreateAsync(Path.Combine(_root, "pipe"), TestContext.Current.CancellationToken);
        var link = Path.Combine(_root, "looks-like-a-file.bin");
        File.CreateSymbolicLink(link, fifo.Path);

        var send = Task.Run(() => _aliceFiles.SendOobAsync(_bob.BoundJid, link), TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

        Assert.Equal(FileTransferErrorKind.LocalIo, error.ErrorKind);
        Assert.Contains("named pipe (FIFO)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_symbolic_link_to_a_regular_file_is_sent_as_that_file_under_the_links_name()
    {
        var source = TransferTestKit.MakeFile(_root, "real.bin", 20_000);
        var link = Path.Combine(_root, "linked.bin");
        File.CreateSymbolicLink(link, source);

        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, link, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await offer.AcceptAsync(Path.Combine(_root, "in")).WaitAsync(s_cap);
        var sent = await send.WaitAsync(s_cap);

        Assert.Equal("linked.bin", received.FileName);
        Assert.Equal(20_000, sent.Size);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
    }

    [Fact]
    public async Task A_fifo_planted_where_the_receivers_part_goes_is_replaced_unopened_and_the_file_arrives_intact()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The file type is told by statx, on Linux only.");
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "in")).FullName;
        var source = TransferTestKit.MakeFile(_root, "data.bin", 100_000);
        using var fifo = await Fifo.CreateAsync(PartialFile.DataPath(inbox, "data.bin"), TestContext.Current.CancellationToken);

        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var received = await Task.Run(() => offer.AcceptAsync(inbox), TestContext.Current.CancellationToken).WaitAsync(s_cap);
        await send.WaitAsync(s_cap);

        Assert.Equal(Path.Combine(inbox, "data.bin"), received.Path);
        Assert.Equal(TransferTestKit.Sha256(source), TransferTestKit.Sha256(received.Path!));
        Assert.False(File.Exists(fifo.Path));
        var logged = Assert.Single(_bobLog.Events, e => e.Id.Id == ForeignPartReplacedEvent);
        Assert.Contains("named pipe (FIFO)", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_part_another_receive_holds_is_neither_resumed_nor_deleted_and_the_offer_is_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The part's descriptor is locked with flock after the no-follow open, on Linux only.");
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "held")).FullName;
        var source = TransferTestKit.MakeFile(_root, "held.bin", 100_000);
        var send = _aliceFiles.SendFileAsync(_bob.BoundJid, source, new FileSendOptions { Method = TransferMethodPreference.Ibb });
        var offer = await TransferTestKit.NextOfferAsync(_bobFiles, s_cap);
        var part = TransferTestKit.LeavePart(inbox, offer, (await File.ReadAllBytesAsync(source, TestContext.Current.CancellationToken))[..40_000]);

        // Another receive of the same file into the same folder is writing the part: its descriptor holds the lock.
        var (writer, _) = ExistingPart.TryOpen(part, write: true, expected: null, out _) ?? throw new InvalidOperationException("the part did not open");
        await using (writer)
        {
            var failure = await Assert.ThrowsAsync<FileTransferException>(() => offer.AcceptAsync(inbox).WaitAsync(s_cap));
            Assert.Equal(FileTransferErrorKind.LocalIo, failure.ErrorKind);
            Assert.Contains("being received by another receive", failure.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<FileTransferException>(() => send.WaitAsync(s_cap));

            // Still the other receive's file, under its name: starting over would have unlinked it from under its writer.
            writer.Seek(0, SeekOrigin.End);
            writer.WriteByte(1);
            await writer.FlushAsync(TestContext.Current.CancellationToken);
            Assert.Equal(40_001, new FileInfo(part).Length);
        }
    }
}
