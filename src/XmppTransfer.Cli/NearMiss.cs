namespace XmppTransfer.Cli;

/// <summary>
/// Finds what a user probably meant by a name xft does not know (a command, an option, a setting key): a "did you mean"
/// is only worth printing for a plausible typo, so a candidate must be a few edits away or a prefix of what was typed
/// (<c>discover</c> for <c>disco</c>), or the other way round.
/// </summary>
internal static class NearMiss
{
    /// <summary>
    /// The candidates closest to <paramref name="typed"/> (ignoring case), in their given order when equally close; empty
    /// when none is close enough.
    /// </summary>
    public static IReadOnlyList<string> Find(string typed, IEnumerable<string> candidates, int max = 3)
    {
        var lower = typed.ToLowerInvariant();
        var scored = candidates
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(candidate => (Candidate: candidate, Score: Score(lower, candidate.ToLowerInvariant())))
            .Where(c => c.Score is not null)
            .ToList();
        if (scored.Count == 0)
        {
            return [];
        }

        var best = scored.Min(c => c.Score!.Value);
        return [.. scored.Where(c => c.Score == best).Select(c => c.Candidate).Take(max)];
    }

    /// <summary>0 for a prefix either way, else the edit distance when it is small for the candidate's length; null when not close.</summary>
    private static int? Score(string typed, string candidate)
    {
        // Three characters at least: "s" starts both send and server, and says nothing.
        if (Math.Min(typed.Length, candidate.Length) >= 3 && (typed.StartsWith(candidate, StringComparison.Ordinal) || candidate.StartsWith(typed, StringComparison.Ordinal)))
        {
            return 0;
        }

        // One edit in a short name, up to three in a long one: more would call almost anything a typo of anything.
        var allowed = Math.Clamp(candidate.Length / 3, 1, 3);
        var distance = Distance(typed, candidate);
        return distance <= allowed ? distance : null;
    }

    /// <summary>
    /// Edits (insert, delete, substitute, swap two neighbours) from <paramref name="a"/> to <paramref name="b"/>: the
    /// optimal string alignment distance, where a swap ("recieve") counts as one typo.
    /// </summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
