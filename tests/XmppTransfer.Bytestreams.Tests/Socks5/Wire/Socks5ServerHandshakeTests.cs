using System.Text;
using XmppTransfer.Bytestreams.Socks5.Wire;
using XmppTransfer.Testing;
using static XmppTransfer.Bytestreams.Tests.Socks5.Wire.Frames;

namespace XmppTransfer.Bytestreams.Tests.Socks5.Wire;

public sealed class Socks5ServerHandshakeTests
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Greeting_and_connect_split_byte_by_byte_are_accepted()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.SendByteByByte([.. Greeting, .. Connect()]);

        string dstAddr = await Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(Hash, dstAddr);
        Assert.Equal([0x05, 0x00], await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Coalesced_greeting_and_connect_are_accepted_without_consuming_the_payload_behind_them()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        byte[] payload = Encoding.ASCII.GetBytes("early file bytes");
        client.Send([.. Greeting, .. Connect(), .. payload]);

        string dstAddr = await Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(Hash, dstAddr);
        Assert.Equal(payload.Length, server.BufferedCount);
        byte[] rest = new byte[payload.Length];
        await server.ReadExactlyAsync(rest, Ct).AsTask().WaitAsync(TestTimeout, Ct);
        Assert.Equal(payload, rest);
    }

    [Fact]
    public async Task Greeting_with_many_methods_is_accepted_when_one_of_them_is_no_authentication()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        byte[] methods = [.. Enumerable.Range(1, 254).Select(i => (byte)i), 0x00];
        client.Send([0x05, 0xFF, .. methods]);
        client.Send(Connect());

        string dstAddr = await Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(Hash, dstAddr);
    }

    [Fact]
    public async Task Upper_case_hex_address_is_normalised_to_lower_case()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(Greeting);
        client.Send(Connect(Hash.ToUpperInvariant()));

        string dstAddr = await Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(Hash, dstAddr);
    }

    [Fact]
    public async Task Wrong_version_in_greeting_is_a_protocol_violation_without_reply()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(0x04, 0x01, 0x00, 0x50);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
        server.Dispose();
        Assert.Null(await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Greeting_without_method_00_is_answered_with_05_FF()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(0x05, 0x02, 0x01, 0x02);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Socks5Handshake, ex.ErrorKind);
        Assert.Equal([0x05, 0xFF], await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Greeting_with_zero_methods_is_answered_with_05_FF()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(0x05, 0x00);

        await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal([0x05, 0xFF], await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Theory]
    [InlineData(0x02, 0x03, 40, 0, 0, 0x07)] // BIND
    [InlineData(0x03, 0x03, 40, 0, 0, 0x07)] // UDP ASSOCIATE
    [InlineData(0x01, 0x01, 40, 0, 0, 0x08)] // IPv4
    [InlineData(0x01, 0x04, 40, 0, 0, 0x08)] // IPv6
    [InlineData(0x01, 0x03, 32, 0, 0, 0x02)] // length 32
    [InlineData(0x01, 0x03, 40, 0x1F, 0x90, 0x02)] // port 8080
    [InlineData(0x01, 0x03, 40, 0x00, 0x01, 0x02)] // port 1
    public async Task Unsupported_connect_request_is_answered_with_the_matching_rep_code(
        byte command, byte addressType, int length, byte port1, byte port2, byte expectedRep)
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(Greeting);
        client.Send(Connect(Hash[..length], command, addressType, port1, port2));

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
        Assert.Equal([0x05, 0x00], await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
        Assert.Equal(FailureReply(expectedRep), await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Non_hex_address_is_answered_with_rep_02()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send(Greeting);
        client.Send(Connect("416781edf1ae50bad01cb8509ba35b43952bc34z"));

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
        Assert.Equal([0x05, 0x00], await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
        Assert.Equal(FailureReply(0x02), await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Silent_client_times_out_at_the_timeout_measured_on_the_given_clock()
    {
        (_, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        ManualTimeProvider clock = new(manualTimers: true);

        Task<string> accept = Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, clock, Ct);
        await clock.WhenTimerArmedAsync().WaitAsync(TestTimeout, Ct);
        Assert.Equal(s_handshakeTimeout, clock.NextTimerDue);
        clock.Advance(s_handshakeTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(accept.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(() => accept.WaitAsync(TestTimeout, Ct));
        Assert.Equal(BytestreamErrorKind.Timeout, ex.ErrorKind);
        Assert.Equal(Core.XmppErrorKind.Timeout, ex.Kind);
    }

    [Fact]
    public async Task Client_stalling_after_greeting_times_out()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        ManualTimeProvider clock = new(manualTimers: true);
        client.Send([.. Greeting, .. Connect()[..10]]);

        Task<string> accept = Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, clock, Ct);
        await clock.WhenTimerArmedAsync().WaitAsync(TestTimeout, Ct);
        clock.Advance(s_handshakeTimeout);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(() => accept.WaitAsync(TestTimeout, Ct));
        Assert.Equal(BytestreamErrorKind.Timeout, ex.ErrorKind);
    }

    [Fact]
    public async Task Eof_in_the_middle_of_the_connect_request_reports_closed()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        client.Send([.. Greeting, .. Connect()[..20]]);
        client.CompleteWrites();

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
    }

    [Fact]
    public async Task Caller_cancellation_raises_operation_canceled_with_the_callers_token()
    {
        (_, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        using CancellationTokenSource cts = new();
        Task<string> accept = Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, cts.Token);

        await cts.CancelAsync();

        OperationCanceledException ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accept.WaitAsync(TestTimeout, Ct));
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task SendReplyAsync_writes_the_reply_echoing_the_address_and_port_zero()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();

        await Socks5ServerHandshake.SendReplyAsync(server, Socks5ReplyCode.NotAllowed, Hash, Ct).AsTask().WaitAsync(TestTimeout, Ct);

        byte[]? reply = await client.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct);
        Assert.Equal([0x05, 0x02, 0x00, 0x03, 0x28, .. Encoding.ASCII.GetBytes(Hash), 0x00, 0x00], reply);
    }
}
