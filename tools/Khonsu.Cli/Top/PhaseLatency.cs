namespace Khonsu.Cli.Top;

/// <summary>Percentiles of how long one phase took over a window (nearest rank); null percentiles when nothing was timed.</summary>
internal sealed record PhaseLatency(string Phase, int Count, TimeSpan? P50, TimeSpan? P95, TimeSpan? P99, TimeSpan? Max)
{
    public static PhaseLatency Of(string phase, IEnumerable<TimeSpan> durations)
    {
        var sorted = durations.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new PhaseLatency(phase, 0, null, null, null, null);
        }

        TimeSpan Rank(double percentile) => sorted[Math.Max(0, (int)Math.Ceiling(percentile * sorted.Length) - 1)];
        return new PhaseLatency(phase, sorted.Length, Rank(0.50), Rank(0.95), Rank(0.99), sorted[^1]);
    }
}
