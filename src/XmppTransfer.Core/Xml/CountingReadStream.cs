namespace XmppTransfer.Core.Xml;

/// <summary>
/// A read-only view of the transport that counts bytes since the last stanza boundary and fails the
/// read when a stanza grows past its limit. The XML reader buffers a few KiB ahead, so the bound is
/// approximate by that much; what matters is that an endless stanza is cut off, not kept in memory.
/// </summary>
internal sealed class CountingReadStream(Stream inner, int maxBytesPerStanza) : Stream
{
    private long _sinceMark;

    /// <summary>The token every inner read observes; the XmlReader API has none of its own.</summary>
    public CancellationToken ReadToken { get; set; }

    public void Mark() => _sinceMark = 0;

    /// <summary>
    /// Whether the transport has ended (a read returned 0: the peer closed TCP). The XmlReader reports that as malformed
    /// XML when the stream's root element is still open; this tells a closed connection from XML that is wrong.
    /// </summary>
    public bool ReachedEnd { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var token = cancellationToken.CanBeCanceled ? cancellationToken : ReadToken;
        var read = await inner.ReadAsync(buffer, token).ConfigureAwait(false);
        ReachedEnd |= read == 0 && buffer.Length > 0;
        _sinceMark += read;
        return _sinceMark > maxBytesPerStanza
            ? throw new XmlLimitExceededException($"A stanza exceeded the limit of {maxBytesPerStanza} bytes.")
            : read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        // Only reached if some XmlReader path reads synchronously; counted and bounded like the async path.
        var read = inner.Read(buffer, offset, count);
        ReachedEnd |= read == 0 && count > 0;
        _sinceMark += read;
        return _sinceMark > maxBytesPerStanza
            ? throw new XmlLimitExceededException($"A stanza exceeded the limit of {maxBytesPerStanza} bytes.")
            : read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
