using System.Globalization;

namespace XmppTransfer.Benchmarks;

/// <summary>The rows of the end-to-end table: each names its baseline and the ratio, or says why it was not measured.</summary>
internal sealed class E2eTable
{
    private readonly List<Row> _rows = [];
    private readonly List<string> _notes = [];

    /// <summary>True when every row is either "not measured: …" or carries a ratio.</summary>
    public bool AllMeasuredRowsHaveRatios => _rows.All(r => r.Result.StartsWith("not measured", StringComparison.Ordinal) || r.Ratio.EndsWith('x'));

    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        List<double> sorted = [.. values.Order()];
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The <paramref name="q"/> quantile (0 to 1) of <paramref name="values"/>, interpolated between neighbours.</summary>
    public static double Quantile(IReadOnlyCollection<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        List<double> sorted = [.. values.Order()];
        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
    }

    /// <summary>A set of ratios as "median 0.71x (middle half 0.65-0.76x, lowest 0.48x, n=25)".</summary>
    public static string Spread(IReadOnlyCollection<double> ratios) => ratios.Count == 0
        ? "not measured"
        : string.Create(
            CultureInfo.InvariantCulture,
            $"median {Median(ratios):0.00}x (middle half {Quantile(ratios, 0.25):0.00}-{Quantile(ratios, 0.75):0.00}x, lowest {ratios.Min():0.00}x, n={ratios.Count})");

    public static string Reason(Exception e) => (e.GetBaseException().GetType().Name + ": " + e.GetBaseException().Message).ReplaceLineEndings(" ").Replace('|', '/');

    /// <summary>Runs <paramref name="measure"/> <paramref name="runs"/> times; a failure ends the series and becomes a note.</summary>
    public async Task<List<double>> MeasureAsync(int runs, Func<Task<double>> measure)
    {
        List<double> values = [];
        for (var run = 0; run < runs; run++)
        {
            try
            {
                values.Add(await measure());
            }
#pragma warning disable CA1031 // A row that fails is reported as not measured, with the reason.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Failed("a run", e);
                return [];
            }
        }

        return values;
    }

    public async Task<List<double>> TryAsync(Func<Task<List<double>>> measure)
    {
        try
        {
            return await measure();
        }
#pragma warning disable CA1031 // A row that fails is reported as not measured, with the reason.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Failed("a run", e);
            return [];
        }
    }

    public void Failed(string what, Exception e)
    {
        Console.Error.WriteLine($"e2e: {what} failed: {e}");
        _notes.Add($"{what} failed: {Reason(e)}");
    }

    public void Note(string? note)
    {
        if (note is not null)
        {
            _notes.Add(note);
        }
    }

    /// <summary>A throughput row: median of <paramref name="values"/>; ratio against the first measured baseline.</summary>
    public void Add(string path, List<double> values, string unit, (string Name, double Value)[] baselines, double? ceiling = null, string? notMeasured = null)
    {
        if (values.Count == 0)
        {
            _rows.Add(new Row(path, notMeasured ?? "not measured: the run failed (see notes)", baselines.Length > 0 ? baselines[0].Name : "—", "—", "—"));
            return;
        }

        var median = Median(values);
        var result = string.Create(CultureInfo.InvariantCulture, $"{median:0.0} {unit}") + (values.Count > 1 ? $" (n={values.Count})" : string.Empty);
        var ofRaw = ceiling is { } c && double.IsFinite(c) ? string.Create(CultureInfo.InvariantCulture, $"{median / c * 100:0.0}%") : "—";
        if (baselines.Length == 0)
        {
            _rows.Add(new Row(path, result, "(is the baseline)", "1.00x", "100%"));
            return;
        }

        var used = baselines.FirstOrDefault(b => double.IsFinite(b.Value) && b.Value > 0);
        if (used.Name is null)
        {
            _rows.Add(new Row(path, result, baselines[0].Name + " (not measured)", "—", ofRaw));
            return;
        }

        var skipped = used.Name == baselines[0].Name ? string.Empty : $" (instead of {baselines[0].Name}: not measured)";
        _rows.Add(new Row(
            path,
            result,
            string.Create(CultureInfo.InvariantCulture, $"{used.Name}: {used.Value:0.0} {unit}{skipped}"),
            string.Create(CultureInfo.InvariantCulture, $"{median / used.Value:0.00}x"),
            ofRaw));
    }

    /// <summary>A cost row (lower is better): ratio = ours / baseline.</summary>
    public void AddCpu(string path, double value, string baselineName, double baselineValue, string? notMeasured = null)
    {
        if (notMeasured is not null || !double.IsFinite(value))
        {
            _rows.Add(new Row(path, notMeasured ?? "not measured: the run failed (see notes)", baselineName, "—", "—"));
            return;
        }

        var result = string.Create(CultureInfo.InvariantCulture, $"{value:0.00} CPU s/GiB");
        _rows.Add(double.IsFinite(baselineValue) && baselineValue > 0
            ? new Row(path, result, string.Create(CultureInfo.InvariantCulture, $"{baselineName}: {baselineValue:0.00} CPU s/GiB"), string.Create(CultureInfo.InvariantCulture, $"{value / baselineValue:0.00}x"), "—")
            : new Row(path, $"not measured: the baseline was not measured (ours alone: {result})", baselineName, "—", "—"));
    }

    /// <summary>A row whose result is itself a ratio: the median of per-sample ratios against <paramref name="baseline"/>.</summary>
    public void AddPaired(string path, IReadOnlyCollection<double> ratios, string baseline)
    {
        if (ratios.Count == 0)
        {
            _rows.Add(new Row(path, "not measured: the run failed (see notes)", baseline, "—", "—"));
            return;
        }

        var median = Median(ratios);
        _rows.Add(new Row(
            path,
            Spread(ratios),
            baseline,
            string.Create(CultureInfo.InvariantCulture, $"{median:0.00}x"),
            string.Create(CultureInfo.InvariantCulture, $"{median * 100:0.0}%")));
    }

    public void AddText(string path, string result, string baseline, string ratio) => _rows.Add(new Row(path, result, baseline, ratio, "—"));

    public void Print(TextWriter output)
    {
        output.WriteLine("| path | result (median) | baseline (same run) | ratio | of raw TCP |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            output.WriteLine($"| {row.Path} | {row.Result} | {row.Baseline} | {row.Ratio} | {row.OfRaw} |");
        }

        if (_notes.Count > 0)
        {
            output.WriteLine();
            foreach (var note in _notes)
            {
                output.WriteLine("- " + note);
            }
        }
    }

    private sealed record Row(string Path, string Result, string Baseline, string Ratio, string OfRaw);
}
