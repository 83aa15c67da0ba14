using System.Text;
using XmppTransfer.Bytestreams.Socks5.Wire;
using static XmppTransfer.Bytestreams.Tests.Socks5.Wire.Frames;

namespace XmppTransfer.Bytestreams.Tests.Socks5.Wire;

public sealed class Socks5ClientHandshakeTests
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Client_sends_greeting_then_the_47_byte_connect_in_one_write_and_accepts_a_split_reply()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        Task connect = Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct);

        Assert.Equal(Greeting, await server.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
        server.SendByteByByte([0x05, 0x00]);
        byte[]? request = await server.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct);
        Assert.Equal(47, request!.Length);
        Assert.Equal(Connect(), request);
        server.SendByteByByte(SuccessReply());

        await connect.WaitAsync(TestTimeout, Ct);
    }

    [Fact]
    public async Task Client_does_not_send_connect_before_the_method_reply()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        Task connect = Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct);

        Assert.Equal(Greeting, await server.ReadChunkAsync(Ct).WaitAsync(TestTimeout, Ct));
        Task<byte[]?> next = server.ReadChunkAsync(Ct);
        Assert.False(next.IsCompleted);
        server.Send(0x05, 0x00);
        Assert.Equal(Connect(), await next.WaitAsync(TestTimeout, Ct));
        server.Send(SuccessReply());
        await connect.WaitAsync(TestTimeout, Ct);
    }

    [Fact]
    public async Task Upper_case_echo_of_the_address_is_accepted()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, .. SuccessReply(Hash.ToUpperInvariant())]);

        await Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct);
    }

    [Fact]
    public async Task Reply_with_an_ipv4_bound_address_is_accepted_and_consumed_exactly()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, 0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x1E, 0x61, 0xAB]);

        await Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(1, client.BufferedCount);
    }

    [Fact]
    public async Task Reply_with_an_ipv6_bound_address_is_accepted_and_consumed_exactly()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, 0x05, 0x00, 0x00, 0x04, .. new byte[16], 0x1E, 0x61, 0xAB, 0xCD]);

        await Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct);

        Assert.Equal(2, client.BufferedCount);
    }

    [Fact]
    public async Task No_acceptable_method_fails_the_handshake()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send(0x05, 0xFF);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Socks5Handshake, ex.ErrorKind);
    }

    [Theory]
    [InlineData(0x04, 0x00)] // SOCKS4 answer
    [InlineData(0x05, 0x02)] // username/password, which we did not offer
    public async Task Unexpected_method_reply_is_a_protocol_violation(byte version, byte method)
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send(version, method);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
    }

    [Fact]
    public async Task Non_zero_rep_is_refused_naming_the_code()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, .. FailureReply(0x02)]);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Refused, ex.ErrorKind);
        Assert.Contains("0x02", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not allowed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reply_echoing_another_address_is_a_protocol_violation()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, .. SuccessReply("0000000000000000000000000000000000000000")]);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
    }

    [Fact]
    public async Task Reply_with_a_wrong_length_byte_is_a_protocol_violation()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        byte[] reply = SuccessReply();
        reply[4] = 39;
        server.Send([0x05, 0x00, .. reply]);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
    }

    [Fact]
    public async Task Reply_with_unknown_address_type_is_a_protocol_violation()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send(0x05, 0x00, 0x05, 0x00, 0x00, 0x07);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.ProtocolViolation, ex.ErrorKind);
    }

    [Fact]
    public async Task Silent_proxy_times_out()
    {
        (DuplexPipeStream client, _) = DuplexPipeStream.CreatePair();

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, TimeSpan.FromMilliseconds(200), Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Timeout, ex.ErrorKind);
    }

    [Fact]
    public async Task Proxy_silent_after_method_reply_times_out()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send(0x05, 0x00);

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, TimeSpan.FromMilliseconds(200), Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Timeout, ex.ErrorKind);
    }

    [Fact]
    public async Task Eof_in_the_middle_of_the_reply_reports_closed()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        server.Send([0x05, 0x00, .. SuccessReply()[..30]]);
        server.CompleteWrites();

        BytestreamException ex = await Assert.ThrowsAsync<BytestreamException>(
            () => Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));

        Assert.Equal(BytestreamErrorKind.Closed, ex.ErrorKind);
    }

    [Fact]
    public async Task Caller_cancellation_raises_operation_canceled_with_the_callers_token()
    {
        (DuplexPipeStream client, _) = DuplexPipeStream.CreatePair();
        using CancellationTokenSource cts = new();
        Task connect = Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, cts.Token);

        await cts.CancelAsync();

        OperationCanceledException ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect.WaitAsync(TestTimeout, Ct));
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task Invalid_address_is_rejected_before_any_byte_is_sent()
    {
        (DuplexPipeStream client, _) = DuplexPipeStream.CreatePair();

        await Assert.ThrowsAsync<ArgumentException>(
            () => Socks5ClientHandshake.ConnectAsync(client, "not-a-hash", s_handshakeTimeout, Ct).WaitAsync(TestTimeout, Ct));
    }

    [Fact]
    public async Task Client_and_server_complete_the_handshake_with_each_other()
    {
        (DuplexPipeStream client, DuplexPipeStream server) = DuplexPipeStream.CreatePair();
        Task connect = Socks5ClientHandshake.ConnectAsync(client, Hash, s_handshakeTimeout, Ct);

        string dstAddr = await Socks5ServerHandshake.AcceptAsync(server, s_handshakeTimeout, TimeProvider.System, Ct).WaitAsync(TestTimeout, Ct);
        await Socks5ServerHandshake.SendReplyAsync(server, Socks5ReplyCode.Succeeded, dstAddr, Ct).AsTask().WaitAsync(TestTimeout, Ct);
        await connect.WaitAsync(TestTimeout, Ct);

        await server.WriteAsync(Encoding.ASCII.GetBytes("data"), Ct);
        byte[] data = new byte[4];
        await client.ReadExactlyAsync(data, Ct).AsTask().WaitAsync(TestTimeout, Ct);
        Assert.Equal("data", Encoding.ASCII.GetString(data));
    }
}
