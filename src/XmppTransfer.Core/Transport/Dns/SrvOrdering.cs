namespace XmppTransfer.Core.Transport.Dns;

/// <summary>The order in which to try SRV targets (RFC 2782, "Usage rules").</summary>
internal static class SrvOrdering
{
    /// <summary>
    /// Orders records by priority, lowest first. Within one priority the records are chosen by weighted random
    /// selection: the candidates are listed with weight-0 records first (then the others in the order given), a number
    /// is drawn uniformly from 0 to the sum of the weights, and the first candidate whose running sum reaches it is
    /// taken; this repeats with the rest. Records of weight 0 thus have a small chance of coming first among weighted
    /// ones, and records that all weigh 0 keep their order.
    /// </summary>
    /// <param name="records">The records of one service.</param>
    /// <param name="random">The source of randomness (<see cref="Random.Shared"/> outside tests).</param>
    public static IReadOnlyList<SrvRecord> Order(IEnumerable<SrvRecord> records, Random random)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(random);

        var ordered = new List<SrvRecord>();
        var candidates = new List<SrvRecord>();
        foreach (IGrouping<ushort, SrvRecord> samePriority in records.GroupBy(r => r.Priority).OrderBy(g => g.Key))
        {
            candidates.Clear();
            candidates.AddRange(samePriority.Where(r => r.Weight == 0));
            candidates.AddRange(samePriority.Where(r => r.Weight != 0));

            long remainingWeight = 0;
            foreach (SrvRecord candidate in candidates)
            {
                remainingWeight += candidate.Weight;
            }

            while (candidates.Count > 0)
            {
                long draw = random.NextInt64(0, remainingWeight + 1);
                int chosen = candidates.Count - 1;
                long runningSum = 0;
                for (int i = 0; i < candidates.Count; i++)
                {
                    runningSum += candidates[i].Weight;
                    if (runningSum >= draw)
                    {
                        chosen = i;
                        break;
                    }
                }

                ordered.Add(candidates[chosen]);
                remainingWeight -= candidates[chosen].Weight;
                candidates.RemoveAt(chosen);
            }
        }

        return ordered;
    }
}
