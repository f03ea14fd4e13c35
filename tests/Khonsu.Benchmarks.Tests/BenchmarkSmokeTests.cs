using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Benchmarks.Tests;

/// <summary>
/// Runs the benchmark suite's --quick profile as a process against the test server and checks that
/// every ratio is printed. Speed is never asserted: only that each scenario runs and reports.
/// </summary>
public partial class BenchmarkSmokeTests
{
    // Every ratio the suite prints (benchmarks/Khonsu.Benchmarks/RatioReport.cs lists the same ids).
    private static readonly string[] ExpectedRatios =
    [
        "read.sqlite.latency", "read.postgres.latency",
        "certifier.reads100-vs-reads10", "certifier.reads1000-vs-reads10",
        "certifier.history1000-vs-history100", "certifier.history3000-vs-history100",
        "certifier.reads10.history3000-vs-history100", "certifier.history3000.reads1000-vs-reads10",
        "certifier.bytes.reads100-vs-reads10", "certifier.bytes.reads1000-vs-reads10",
        "certifier.cpu.reads10-vs-goal", "certifier.cpu.reads10.history3000-vs-history100", "certifier.cpu.reads1000-vs-reads10",
        "rmw.sqlite.latency.c1", "rmw.sqlite.alloc.c1", "rmw.sqlite.throughput.c8", "rmw.sqlite.throughput.c32",
        "rmw.postgres.latency.c1", "rmw.postgres.alloc.c1", "rmw.postgres.throughput.c8", "rmw.postgres.throughput.c32",
        "transfer.latency.c1", "transfer.alloc.c1", "transfer.throughput.c1", "transfer.throughput.c8", "transfer.throughput.c32",
        "transfer.scaling.khonsu.c8-vs-c1", "transfer.scaling.khonsu.c32-vs-c1",
        "transfer.scaling.2pc.c8-vs-c1", "transfer.scaling.2pc.c32-vs-c1",
        "backends.throughput.n1", "backends.throughput.n2", "backends.throughput.n3", "backends.throughput.n4",
        "backends.scaling.khonsu.n4-vs-n1", "backends.scaling.2pc.n4-vs-n1",
        "aborts.khonsu-serializable-vs-postgres-serializable", "aborts.khonsu-on-postgres-serializable-vs-khonsu", "aborts.khonsu-snapshot-vs-postgres-serializable",
        .. AutocommitRatios(),
        "sync.postgres.execute.throughput", "sync.postgres.execute.p99", "sync.postgres.query.throughput", "sync.postgres.query.p99",
        "roundtrips.postgres.rmw.extra", "roundtrips.postgres.autocommit-update.extra", "roundtrips.postgres.transfer.extra",
        "roundtrips.sqlite.rmw.extra", "roundtrips.sqlite.autocommit-update.extra", "roundtrips.sqlite.transfer.extra",
        "analytics.postgres-vs-duckdb.latency", "analytics.sqlite-vs-duckdb.latency",
        .. LivenessRatios(),
        .. LogRatios(),
        .. ProcessesRatios(),
        .. PrefetchRatios(),
        .. SoakRatios(),
    ];

    // The processes section: 2, 3 and 4 processes on one Kafka log against 1.
    private static IEnumerable<string> ProcessesRatios()
        => new[] { 2, 3, 4 }.Select(processes => $"processes.rmw-postgres.kafka.p{processes}-vs-p1.throughput");

    // The prefetch section: per injected delay (0.5 ms and 2 ms each way), prefetch on against off.
    private static IEnumerable<string> PrefetchRatios()
        => from delay in new[] { "0_5ms", "2ms" }
           from id in new[] { "roundtrips", "p50.c1", "p99.c1", "throughput.c1", "throughput.c8", "precision", "recall" }
           select $"prefetch.{delay}.{id}";

    // The soak (a short one in the quick profile): throughput end against start, and what is held half-way against the end.
    private static IEnumerable<string> SoakRatios()
        =>
        [
            "soak.embedded.throughput.end-vs-start", "soak.embedded.disk.end-vs-mid", "soak.embedded.heap.end-vs-mid",
            "soak.kafka.throughput.end-vs-start", "soak.kafka.heap.end-vs-mid", "soak.kafka.checkpoint.end-vs-mid", "soak.kafka.outcomes.end-vs-mid",
        ];

    // The autocommit section: per backend and statement, Autocommit=Transaction and =Direct against the raw provider.
    private static IEnumerable<string> AutocommitRatios()
        => from backend in new[] { "sqlite", "postgres" }
           from statement in new[] { "insert", "update" }
           from id in new[] { "latency.c1", "direct-latency.c1", "throughput.c8", "direct-throughput.c8" }
           select $"autocommit.{backend}.{statement}.{id}";

    // The liveness section: per pair of databases and worker count, Khonsu against fixed-order 2PC.
    private static IEnumerable<string> LivenessRatios()
        => from pair in new[] { "sqlite-sqlite", "sqlite-postgres" }
           from workers in new[] { 8, 32, 128 }
           from id in new[] { "throughput", "worst-latency" }
           select $"liveness.{pair}.{id}.c{workers}";

    // The log section: per workload and client count, each Kafka row against the embedded log
    // (commit step p50 and p99, throughput), and every log against the workload's raw baseline.
    // Then issue 18's goals: the extra commit p50 of Kafka at 1 client, and commit records/s from 64 appenders.
    private static IEnumerable<string> LogRatios()
        => (from workload in new[] { (Id: "transfer", Baseline: "2pc"), (Id: "rmw-postgres", Baseline: "raw") }
           from clients in new[] { 1, 8, 32 }
           from id in new[]
           {
               $"kafka.commit-p50.c{clients}", $"kafka.commit-p99.c{clients}", $"kafka.throughput.c{clients}",
               $"kafka-fw1.commit-p50.c{clients}", $"kafka-fw1.commit-p99.c{clients}", $"kafka-fw1.throughput.c{clients}",
               $"embedded-vs-{workload.Baseline}.throughput.c{clients}", $"kafka-vs-{workload.Baseline}.throughput.c{clients}", $"kafka-fw1-vs-{workload.Baseline}.throughput.c{clients}",
           }
           select $"log.{workload.Id}.{id}")
           .Concat(["log.transfer.kafka.commit-p50-extra-vs-goal.c1", "log.rmw-postgres.kafka.commit-p50-extra-vs-goal.c1"])
           .Concat(["log.append.kafka-vs-embedded.throughput.x64", "log.append.kafka-vs-goal.throughput.x64"]);

    [Fact]
    public async Task Bench_quick_profile_prints_every_ratio()
    {
        using var work = new TempDirectory();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work.Path,
        };
        start.ArgumentList.Add(Built.Path("benchmarks", "Khonsu.Benchmarks", "Khonsu.Benchmarks.dll"));
        start.ArgumentList.Add("--quick");
        start.ArgumentList.Add("--postgres");
        start.ArgumentList.Add(PostgresServer.ConnectionString);
        start.ArgumentList.Add("--work-dir");
        start.ArgumentList.Add(work.Path);

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var error = new StringBuilder();
        var reading = Task.WhenAll(Pump(process.StandardOutput, output), Pump(process.StandardError, error));
        // A hang guard, not a speed check: the quick profile takes 2 to 4 minutes here, more when the machine is shared.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(7));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await reading;
        var text = output.ToString();
        var printed = RatioLine().Matches(text).Select(m => m.Groups["id"].Value).ToHashSet();
        var missing = ExpectedRatios.Where(id => !printed.Contains(id)).ToList();
        Assert.True(missing.Count == 0 && process.ExitCode == 0, $"exit code {process.ExitCode}, missing ratios: {string.Join(", ", missing)}\n--- stdout (tail)\n{Tail(text)}\n--- stderr\n{Tail(error.ToString())}");
        Assert.Contains($"all {printed.Count} ratios printed", text, StringComparison.Ordinal);
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];

    [GeneratedRegex(@"^RATIO (?<id>\S+) = ", RegexOptions.Multiline)]
    private static partial Regex RatioLine();
}
