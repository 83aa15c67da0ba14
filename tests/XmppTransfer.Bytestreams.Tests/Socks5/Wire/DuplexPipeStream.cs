using System.Threading.Channels;

namespace XmppTransfer.Bytestreams.Tests.Socks5.Wire;

/// <summary>
/// One end of an in-memory, full-duplex byte stream. Every write becomes one chunk on the other side, so
/// tests can see write boundaries (<see cref="ReadChunkAsync"/>) and control how input is split.
/// Disposing an end completes its outgoing direction (the peer reads EOF).
/// </summary>
internal sealed class DuplexPipeStream : Stream
{
    private readonly Channel<byte[]> _incoming;
    private readonly Channel<byte[]> _outgoing;
    private byte[] _current = [];
    private int _offset;

    private DuplexPipeStream(Channel<byte[]> incoming, Channel<byte[]> outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
    }

    public static (DuplexPipeStream Client, DuplexPipeStream Server) CreatePair()
    {
        Channel<byte[]> clientToServer = Channel.CreateUnbounded<byte[]>();
        Channel<byte[]> serverToClient = Channel.CreateUnbounded<byte[]>();
        return (new DuplexPipeStream(serverToClient, clientToServer), new DuplexPipeStream(clientToServer, serverToClient));
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Bytes the reader has not consumed yet from chunks it already dequeued.</summary>
    public int BufferedCount => _current.Length - _offset;

    /// <summary>Sends <paramref name="bytes"/> to the peer as one chunk.</summary>
    public void Send(params byte[] bytes) => _outgoing.Writer.TryWrite(bytes.ToArray());

    /// <summary>Sends each byte as its own chunk: the worst case of split input.</summary>
    public void SendByteByByte(byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            _outgoing.Writer.TryWrite([b]);
        }
    }

    /// <summary>Closes the outgoing direction: the peer reads EOF after what was sent.</summary>
    public void CompleteWrites() => _outgoing.Writer.TryComplete();

    /// <summary>Reads the next whole chunk the peer wrote, or null at EOF. Do not mix with <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    public async Task<byte[]?> ReadChunkAsync(CancellationToken cancellationToken = default)
    {
        if (!await _incoming.Reader.WaitToReadAsync(cancellationToken))
        {
            return null;
        }

        return _incoming.Reader.TryRead(out byte[]? chunk) ? chunk : null;
    }

    /// <summary>Reads everything the peer writes until it completes.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken = default)
    {
        using MemoryStream all = new();
        await CopyToAsync(all, cancellationToken);
        return all.ToArray();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_offset == _current.Length)
        {
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            if (_incoming.Reader.TryRead(out byte[]? chunk))
            {
                _current = chunk;
                _offset = 0;
            }
        }

        int count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, count).CopyTo(buffer);
        _offset += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_outgoing.Writer.TryWrite(buffer.ToArray()))
        {
            throw new IOException("The stream is closed.");
        }

        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Async only.");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Async only.");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _outgoing.Writer.TryComplete();
        }

        base.Dispose(disposing);
    }
}
