namespace XmppTransfer.Core.Tests.Transport.Dns;

/// <summary>A <see cref="Random"/> whose <see cref="NextInt64(long, long)"/> returns scripted values, to pin RFC 2782 draws.</summary>
internal sealed class ScriptedRandom(params long[] draws) : Random
{
    private readonly Queue<long> _draws = new(draws);

    public List<(long MinValue, long MaxValue)> Requests { get; } = [];

    public override long NextInt64(long minValue, long maxValue)
    {
        Requests.Add((minValue, maxValue));
        long draw = _draws.Dequeue();
        Assert.InRange(draw, minValue, maxValue - 1);
        return draw;
    }
}
