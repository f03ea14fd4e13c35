using System.Globalization;

namespace Khonsu.Benchmarks;

/// <summary>
/// Collects every ratio (Khonsu against its baseline, measured in the same run) and every plain
/// figure, prints each as it comes, and all of them again at the end as one table.
/// Ratio lines read <c>RATIO &lt;id&gt; = &lt;value&gt;  (&lt;what it means&gt;)</c>.
/// </summary>
internal sealed class RatioReport(TextWriter output)
{
    private readonly List<string> _ratios = [];
    private readonly List<string> _figures = [];
    private readonly HashSet<string> _ids = [];

    /// <summary>Ratios the whole suite prints, by section; a run checks that none is missing.</summary>
    public static IReadOnlyList<string> Expected(string section) => section switch
    {
        "read" => ["read.sqlite.latency", "read.postgres.latency"],
        "certifier" =>
        [
            "certifier.reads100-vs-reads10", "certifier.reads1000-vs-reads10",
            "certifier.history1000-vs-history100", "certifier.history3000-vs-history100",
            "certifier.reads10.history3000-vs-history100", "certifier.history3000.reads1000-vs-reads10",
            "certifier.bytes.reads100-vs-reads10", "certifier.bytes.reads1000-vs-reads10",
            "certifier.cpu.reads10-vs-goal", "certifier.cpu.reads10.history3000-vs-history100", "certifier.cpu.reads1000-vs-reads10",
        ],
        "rmw" =>
        [
            "rmw.sqlite.latency.c1", "rmw.sqlite.alloc.c1", "rmw.sqlite.throughput.c8", "rmw.sqlite.throughput.c32",
            "rmw.postgres.latency.c1", "rmw.postgres.alloc.c1", "rmw.postgres.throughput.c8", "rmw.postgres.throughput.c32",
        ],
        "transfer" =>
        [
            "transfer.latency.c1", "transfer.alloc.c1", "transfer.throughput.c1", "transfer.throughput.c8", "transfer.throughput.c32",
            "transfer.scaling.khonsu.c8-vs-c1", "transfer.scaling.khonsu.c32-vs-c1",
            "transfer.scaling.2pc.c8-vs-c1", "transfer.scaling.2pc.c32-vs-c1",
        ],
        "backends" =>
        [
            "backends.throughput.n1", "backends.throughput.n2", "backends.throughput.n3", "backends.throughput.n4",
            "backends.scaling.khonsu.n4-vs-n1", "backends.scaling.2pc.n4-vs-n1",
        ],
        "aborts" => ["aborts.khonsu-serializable-vs-postgres-serializable", "aborts.khonsu-on-postgres-serializable-vs-khonsu", "aborts.khonsu-snapshot-vs-postgres-serializable"],
        "append" => [.. AppendSection.RatioIds()],
        "autocommit" => [.. AutocommitSection.RatioIds()],
        "sync" => [.. SyncAsyncSection.RatioIds()],
        "roundtrips" => [.. RoundTripSection.RatioIds()],
        "liveness" => [.. LivenessSection.RatioIds()],
        "log" => [.. LogSection.RatioIds()],
        "processes" => [.. ProcessesSection.RatioIds()],
        "soak" => [.. SoakSection.RatioIds()],
        "prefetch" => [.. PrefetchSection.RatioIds()],
        _ => [],
    };

    public void Ratio(string id, double value, string meaning)
    {
        _ids.Add(id);
        var line = string.Create(CultureInfo.InvariantCulture, $"RATIO {id} = {Format(value)}  ({meaning})");
        _ratios.Add(line);
        output.WriteLine(line);
    }

    public void Figure(string text)
    {
        var line = "FIGURE " + text;
        _figures.Add(line);
        output.WriteLine(line);
    }

    /// <summary>A line printed as it comes and not repeated in the summary (e.g. a section's table).</summary>
    public void Note(string line) => output.WriteLine(line);

    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public void Section(string title) => output.WriteLine($"{Environment.NewLine}=== [{_clock.Elapsed.TotalSeconds:0} s] {title} ===");

    /// <summary>Prints everything again; returns the expected ratios that were not printed.</summary>
    public IReadOnlyList<string> PrintSummary(IEnumerable<string> sections)
    {
        output.WriteLine();
        output.WriteLine("=== Summary: figures ===");
        _figures.ForEach(output.WriteLine);
        output.WriteLine("=== Summary: ratios (Khonsu / baseline unless the line says otherwise) ===");
        _ratios.ForEach(output.WriteLine);
        var missing = sections.SelectMany(Expected).Where(id => !_ids.Contains(id)).ToList();
        output.WriteLine(missing.Count == 0
            ? $"all {_ratios.Count} ratios printed"
            : $"MISSING ratios: {string.Join(", ", missing)}");
        return missing;
    }

    private static string Format(double value)
        => double.IsFinite(value) ? value.ToString(value >= 100 ? "0" : "0.00", CultureInfo.InvariantCulture) : "n/a";

    public static string N(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);
}
