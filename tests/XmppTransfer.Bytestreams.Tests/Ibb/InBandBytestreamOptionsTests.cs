using XmppTransfer.Bytestreams.Ibb;

namespace XmppTransfer.Bytestreams.Tests.Ibb;

public sealed class InBandBytestreamOptionsTests
{
    [Theory]
    [InlineData(64, 4096, 64)] // the defaults: 64 x (4096 + 1024) = 320 KiB, far below 4 MiB
    [InlineData(200, 65535, 63)] // 4 MiB / 66559 = 63
    [InlineData(64, 65535, 63)]
    [InlineData(200, 16383, 200)] // 4 MiB / 17407 = 240
    [InlineData(1, 65535, 1)]
    public void The_window_in_effect_is_the_window_bounded_by_4_MiB_in_flight(int window, int blockSize, int expected)
    {
        var options = InBandBytestreamOptions.Default with { Window = window };

        Assert.Equal(expected, options.EffectiveWindow(blockSize));
    }

    [Fact]
    public void A_byte_bound_below_one_block_still_lets_one_block_out()
    {
        var options = InBandBytestreamOptions.Default with { MaxInFlightBytes = 1000 };

        Assert.Equal(1, options.EffectiveWindow(4096));
    }

    [Fact]
    public void The_default_byte_bound_is_half_our_receivers_default_cap()
    {
        Assert.Equal(InBandBytestreamOptions.Default.MaxBufferedBytes / 2, InBandBytestreamOptions.Default.MaxInFlightBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_non_positive_byte_bound_on_the_window_is_rejected(int maxInFlightBytes)
    {
        var options = InBandBytestreamOptions.Default with { MaxInFlightBytes = maxInFlightBytes };

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new InBandBytestreamManager(options));
        Assert.Equal(nameof(InBandBytestreamOptions.MaxInFlightBytes), ex.ParamName);
        Assert.Contains("must be positive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_buffer_cap_smaller_than_one_largest_accepted_block_and_its_overhead_is_rejected()
    {
        var options = InBandBytestreamOptions.Default with { MaxBufferedBytes = 65535 + 1024 - 1 };

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new InBandBytestreamManager(options));
        Assert.Equal(nameof(InBandBytestreamOptions.MaxBufferedBytes), ex.ParamName);
        Assert.Contains("at least 66559", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(65535, 65535 + 1024)]
    [InlineData(1024, 2048)]
    public void A_buffer_cap_of_one_largest_accepted_block_and_its_overhead_is_accepted(int maxAcceptedBlockSize, int maxBufferedBytes)
    {
        var options = InBandBytestreamOptions.Default with
        {
            MaxAcceptedBlockSize = maxAcceptedBlockSize,
            MaxBufferedBytes = maxBufferedBytes,
        };

        var manager = new InBandBytestreamManager(options);

        Assert.Equal(maxBufferedBytes, manager.Options.MaxBufferedBytes);
    }

    [Fact]
    public async Task Options_given_to_one_open_are_validated_too()
    {
        var manager = new InBandBytestreamManager();
        var options = InBandBytestreamOptions.Default with { MaxInFlightBytes = 0 };

        // Validation comes before anything is sent, so no session is needed.
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => manager.OpenAsync(Core.Jid.Parse("bob@example.test/r"), "sid", options).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(nameof(InBandBytestreamOptions.MaxInFlightBytes), ex.ParamName);
    }
}
