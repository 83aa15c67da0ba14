using XmppTransfer.Cli.Output;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;

namespace XmppTransfer.Cli.Tests;

/// <summary>The plain result lines (docs/cli.md, Output).</summary>
public sealed class TransferTextTests
{
    private static readonly FileTransferResult s_result = new()
    {
        Peer = Jid.Parse("bob@example.org/laptop"),
        Sid = "xft1",
        FileName = "a.bin",
        Method = TransferMethod.Ibb,
        Size = 1000,
        BytesTransferred = 1000,
        Duration = TimeSpan.FromSeconds(0.5),
    };

    [Fact]
    public void A_file_nobody_hashed_has_no_sha256_on_its_line()
    {
        var line = TransferText.Sent(s_result with { Sha256 = null });

        Assert.Equal("sent a.bin to bob@example.org/laptop: 1000 bytes in 0.50 s by ibb", line);
    }

    [Fact]
    public void A_hashed_file_ends_its_line_with_the_sha256()
    {
        var line = TransferText.Received(s_result with { Sha256 = "ab12", Verified = true });

        Assert.Equal("received a.bin from bob@example.org/laptop: 1000 bytes in 0.50 s by ibb, sha256 ab12 (verified)", line);
    }
}
