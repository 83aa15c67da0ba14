using System.Globalization;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// Unicode normalization form KC over the Unicode 3.2 tables that stringprep (RFC 3454 §1.2) pins, for
/// <see cref="SaslPrep"/>. Our own because <see cref="string.Normalize(NormalizationForm)"/> is a no-op for
/// non-ASCII text when the app runs with <c>InvariantGlobalization</c>, as every project in this repository does.
/// </summary>
/// <remarks>
/// UAX #15: full compatibility decomposition (table lookup, Hangul by arithmetic), canonical ordering by
/// combining class, then canonical composition of primary composites (table lookup, Hangul by arithmetic).
/// The tables load on first use, i.e. only when a user name or password is not plain ASCII.
/// </remarks>
internal static partial class Nfkc
{
    private const int SBase = 0xAC00;
    private const int LBase = 0x1100;
    private const int VBase = 0x1161;
    private const int TBase = 0x11A7;
    private const int LCount = 19;
    private const int VCount = 21;
    private const int TCount = 28;
    private const int NCount = VCount * TCount;
    private const int SCount = LCount * NCount;

    private static readonly Dictionary<int, int[]> s_decompositions = LoadDecompositions();
    private static readonly (int First, int Last, int Class)[] s_combiningClasses = LoadCombiningClasses();
    private static readonly Dictionary<long, int> s_compositions = LoadCompositions();

    /// <summary>NFKC of <paramref name="value"/>, which must be well-formed UTF-16 (no lone surrogates).</summary>
    public static string Normalize(string value)
    {
        var codePoints = new List<int>(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            Decompose(rune.Value, codePoints);
        }

        SortCombiningMarks(codePoints);
        Compose(codePoints);

        var builder = new StringBuilder(codePoints.Count);
        foreach (var codePoint in codePoints)
        {
            builder.Append(new Rune(codePoint).ToString());
        }

        return builder.ToString();
    }

    /// <summary>The canonical combining class of a code point, 0 for starters.</summary>
    public static int CombiningClass(int codePoint)
    {
        int low = 0, high = s_combiningClasses.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var (first, last, combiningClass) = s_combiningClasses[middle];
            if (codePoint < first)
            {
                high = middle - 1;
            }
            else if (codePoint > last)
            {
                low = middle + 1;
            }
            else
            {
                return combiningClass;
            }
        }

        return 0;
    }

    private static void Decompose(int codePoint, List<int> output)
    {
        if (codePoint is >= SBase and < SBase + SCount)
        {
            var index = codePoint - SBase;
            output.Add(LBase + (index / NCount));
            output.Add(VBase + (index % NCount / TCount));
            if (index % TCount != 0)
            {
                output.Add(TBase + (index % TCount));
            }
        }
        else if (s_decompositions.TryGetValue(codePoint, out var mapping))
        {
            output.AddRange(mapping);
        }
        else
        {
            output.Add(codePoint);
        }
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class (insertion sort; runs are short).
    private static void SortCombiningMarks(List<int> codePoints)
    {
        for (var i = 1; i < codePoints.Count; i++)
        {
            var current = codePoints[i];
            var currentClass = CombiningClass(current);
            if (currentClass == 0)
            {
                continue;
            }

            var j = i;
            while (j > 0 && CombiningClass(codePoints[j - 1]) > currentClass)
            {
                codePoints[j] = codePoints[j - 1];
                j--;
            }

            codePoints[j] = current;
        }
    }

    // Canonical composition: each character combines with the last starter unless a character in between
    // (a "blocker") has a combining class of zero or of at least its own.
    private static void Compose(List<int> codePoints)
    {
        if (codePoints.Count == 0)
        {
            return;
        }

        var starterIndex = 0;
        var starter = codePoints[0];
        var lastClass = CombiningClass(starter) == 0 ? 0 : 256;
        var written = 1;
        for (var i = 1; i < codePoints.Count; i++)
        {
            var current = codePoints[i];
            var currentClass = CombiningClass(current);
            var composite = PrimaryComposite(starter, current);
            if (composite >= 0 && (lastClass < currentClass || lastClass == 0))
            {
                starter = composite;
                codePoints[starterIndex] = composite;
                continue;
            }

            if (currentClass == 0)
            {
                starterIndex = written;
                starter = current;
            }

            lastClass = currentClass;
            codePoints[written++] = current;
        }

        codePoints.RemoveRange(written, codePoints.Count - written);
    }

    private static int PrimaryComposite(int first, int second)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            return SBase + ((((first - LBase) * VCount) + (second - VBase)) * TCount);
        }

        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            return first + (second - TBase);
        }

        return s_compositions.TryGetValue(Key(first, second), out var composite) ? composite : -1;
    }

    private static long Key(int first, int second) => ((long)first << 21) | (uint)second;

    private static Dictionary<int, int[]> LoadDecompositions()
    {
        var table = new Dictionary<int, int[]>(5200);
        foreach (var (key, value) in Entries(DecompositionData))
        {
            table.Add(Hex(key), [.. value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Hex)]);
        }

        return table;
    }

    private static (int First, int Last, int Class)[] LoadCombiningClasses()
    {
        var ranges = new List<(int First, int Last, int Class)>(170);
        foreach (var (key, value) in Entries(CombiningClassData))
        {
            var dash = key.IndexOf('-', StringComparison.Ordinal);
            var first = Hex(dash < 0 ? key : key[..dash]);
            var last = dash < 0 ? first : Hex(key[(dash + 1)..]);
            ranges.Add((first, last, int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture)));
        }

        return [.. ranges];
    }

    private static Dictionary<long, int> LoadCompositions()
    {
        var table = new Dictionary<long, int>(950);
        foreach (var (key, value) in Entries(CompositionData))
        {
            var pair = key.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            table.Add(Key(Hex(pair[0]), Hex(pair[1])), Hex(value));
        }

        return table;
    }

    // The tables are "key:value; key:value; ..." wrapped over lines at spaces.
    private static IEnumerable<(string Key, string Value)> Entries(string data)
    {
        var flat = data.Replace('\r', ' ').Replace('\n', ' ');
        foreach (var entry in flat.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            yield return (entry[..colon], entry[(colon + 1)..]);
        }
    }

    private static int Hex(string value) => int.Parse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
