namespace XmppTransfer.Core.Tests.Xml;

/// <summary>Serves its bytes at most <c>chunk</c> at a time, as a fragmenting peer does: boundaries fall anywhere.</summary>
internal sealed class ChunkedStream(byte[] bytes, int chunk) : MemoryStream(bytes)
{
    // MemoryStream.ReadAsync reads through this too.
    public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
}
