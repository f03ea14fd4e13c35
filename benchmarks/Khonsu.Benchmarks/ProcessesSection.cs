using System.Diagnostics;
using System.Globalization;
using Khonsu.Data;
using Khonsu.Testing;

namespace Khonsu.Benchmarks;

/// <summary>
/// The processes section: 1 to <see cref="MaxProcesses"/> application processes at once on one
/// Kafka log (librdkafka's mock cluster, broker round trip +1 ms, as in the log section) and the
/// same PostgreSQL database, each running <see cref="ClientsPerProcess"/> read-modify-write
/// clients. Every process certifies every other's records in log order (issue 18 item 3), so this
/// shows what adding a process adds: committed tx/s of all processes together, as ratios to one
/// process measured in the same run. Every count gets a fresh topic (no certifier history carried
/// over), its processes warm up, then all start measuring at the same moment.
/// </summary>
internal sealed class ProcessesSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int MaxProcesses = 4;

    private const int ClientsPerProcess = 8;

    private const int BrokerRttMs = 1;

    /// <summary>
    /// The log's settings. Khonsu's default fetch wait only: a run of this section with
    /// <c>Kafka.fetch.wait.max.ms=1</c> interleaved (063c42f) showed no difference, and each variant
    /// costs 10 process starts, too many for the quick profile.
    /// </summary>
    private static readonly (string Id, string Label, string KafkaKeys)[] Variants =
    [
        ("kafka", "fetch.wait.max.ms=10 (default)", ""),
    ];

    public static IEnumerable<string> RatioIds()
        => from variant in Variants
           from n in Enumerable.Range(2, MaxProcesses - 1)
           select $"processes.rmw-postgres.{variant.Id}.p{n}-vs-p1.throughput";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section($"Processes on one Kafka log: 1 to {MaxProcesses} application processes, {ClientsPerProcess} read-modify-write clients each, same PostgreSQL database");
        await using var mock = await KafkaMockCluster.StartAsync();
        await mock.SetRttAsync(BrokerRttMs);
        var table = new List<string>
        {
            "| processes | fetch wait | committed tx/s (all) | aborted | commit step p50 ms (per process) | tx/s / 1 process |",
            "| ---: | --- | ---: | ---: | ---: | ---: |",
        };
        var single = new Dictionary<string, double>();
        for (var processes = 1; processes <= MaxProcesses; processes++)
        {
            // Interleaved (default wait, then 1 ms, at each count): the machine's noise of the moment hits both alike.
            foreach (var (id, label, kafkaKeys) in Variants)
            {
                var connectionString = environment.KhonsuPostgresOnly($"Log=\"{await mock.CreateLogAsync()}\"{kafkaKeys}");
                await environment.OpenOnceAsync(connectionString, cancellationToken); // schema and hand-over, then this process lets go
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
                var results = await RunProcessesAsync(connectionString, processes, cancellationToken);
                var committed = results.Sum(r => r.Committed);
                var aborted = results.Sum(r => r.Aborted);
                var throughput = results.Sum(r => r.Committed / r.Seconds);
                single.TryAdd(id, throughput);
                var commitP50 = string.Join(", ", results.Select(r => RatioReport.N(r.CommitP50Ms, "0.00")));
                report.Figure($"processes.rmw-postgres.{id}: {processes} process(es) x {ClientsPerProcess} clients on one Kafka log, {label}: {RatioReport.N(throughput, "0")} committed tx/s in all, {committed} committed, {aborted} aborted attempts, commit step p50 per process {commitP50} ms");
                table.Add($"| {processes} | {(id == "kafka" ? "10 ms" : "1 ms")} | {RatioReport.N(throughput, "0")} | {RatioReport.N(100.0 * aborted / Math.Max(1, committed + aborted), "0.0")} % | {commitP50} | {RatioReport.N(throughput / single[id], "0.00")} |");
                if (processes > 1)
                {
                    report.Ratio($"processes.rmw-postgres.{id}.p{processes}-vs-p1.throughput", throughput / single[id], $"committed tx/s of {processes} processes together on one Kafka log / of 1 process, {ClientsPerProcess} clients each, {label}");
                }
            }
        }

        table.ForEach(report.Note);
    }

    private sealed record WorkerResult(long Committed, long Aborted, double Seconds, double CommitP50Ms);

    /// <summary>Starts the processes, waits until every one is warm, lets them all go at once, and collects what each measured.</summary>
    private async Task<List<WorkerResult>> RunProcessesAsync(string connectionString, int count, CancellationToken cancellationToken)
    {
        var workers = new List<Process>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var argument in new[] { typeof(ProcessWorker).Assembly.Location, ProcessWorker.Flag, connectionString, Invariant(ClientsPerProcess), Invariant((int)options.WarmupDuration.TotalMilliseconds), Invariant((int)options.RunDuration.TotalMilliseconds) })
                {
                    start.ArgumentList.Add(argument);
                }

                var worker = Process.Start(start) ?? throw new InvalidOperationException("could not start a benchmark process");
                workers.Add(worker);
                _ = worker.StandardError.ReadToEndAsync(cancellationToken);
            }

            foreach (var worker in workers)
            {
                await ExpectAsync(worker, "READY", cancellationToken);
            }

            foreach (var worker in workers)
            {
                await worker.StandardInput.WriteLineAsync("GO".AsMemory(), cancellationToken);
                await worker.StandardInput.FlushAsync(cancellationToken);
            }

            var results = new List<WorkerResult>();
            foreach (var worker in workers)
            {
                var words = (await ExpectAsync(worker, "RESULT", cancellationToken)).Split(' ');
                results.Add(new WorkerResult(long.Parse(words[1], CultureInfo.InvariantCulture), long.Parse(words[2], CultureInfo.InvariantCulture), double.Parse(words[3], CultureInfo.InvariantCulture), double.Parse(words[4], CultureInfo.InvariantCulture)));
                await worker.WaitForExitAsync(cancellationToken);
            }

            return results;
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited)
                {
                    worker.Kill(entireProcessTree: true);
                }

                worker.Dispose();
            }
        }
    }

    /// <summary>The worker's next line that starts with <paramref name="word"/> (anything before it is skipped); fails if it exits first.</summary>
    private static async Task<string> ExpectAsync(Process worker, string word, CancellationToken cancellationToken)
    {
        while (await worker.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(word, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException($"a benchmark process exited before printing {word} (exit code {(worker.WaitForExit(5000) ? worker.ExitCode : -1)})");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
