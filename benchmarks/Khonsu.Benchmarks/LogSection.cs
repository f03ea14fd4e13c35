using System.Globalization;
using Khonsu.Data;
using Khonsu.Testing;

namespace Khonsu.Benchmarks;

/// <summary>
/// The log section: the same Khonsu transactions committed through the embedded log and through
/// the Kafka log (librdkafka's mock cluster in a process of its own), at 1, 8 and 32 clients, in
/// one run, with the workload's raw baseline beside them. The Kafka log is measured twice: with
/// Khonsu's default consumer fetch wait and with <c>Kafka.fetch.wait.max.ms=1</c>, because the mock
/// cluster always waits a fetch out and a record of another process is learnt from a fetch
/// (docs/kafka-log.md). The mock's broker answers <see cref="BrokerRttMs"/> late, as a network
/// would. Then commit records per second from <see cref="Appenders"/> concurrent appenders, at the
/// log level, Kafka beside embedded, against the goal of issue 18.
/// </summary>
internal sealed class LogSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    /// <summary>The logs compared, embedded first (the reference of every Kafka/embedded ratio); Kafka keys come after Log=.</summary>
    private static readonly (string Id, string Label, string? KafkaKeys)[] Logs =
    [
        ("embedded", "Khonsu, embedded log", null),
        ("kafka", "Khonsu, Kafka log (fetch.wait.max.ms=10, Khonsu's default)", ""),
        ("kafka-fw1", "Khonsu, Kafka log, Kafka.fetch.wait.max.ms=1", ";Kafka.fetch.wait.max.ms=1"),
    ];

    /// <summary>The mock broker's added round trip (rd_kafka_mock_broker_set_rtt), for every Kafka run.</summary>
    private const int BrokerRttMs = 1;

    /// <summary>Concurrent appenders of the log-level throughput run (transactions of one process committing at once).</summary>
    private const int Appenders = 64;

    /// <summary>Issue 18's goals: commit p50 at 1 client at most this much above the embedded log's; commit records/s from 64 appenders.</summary>
    private const double ExtraCommitMsGoal = 1.5;

    private const double RecordsPerSecondGoal = 10_000;

    /// <summary>The workloads, each with the id of its raw baseline.</summary>
    private static readonly (string Id, string Baseline)[] Workloads = [("transfer", "2pc"), ("rmw-postgres", "raw")];

    /// <summary>Every ratio this section prints (RatioReport checks that none is missing).</summary>
    public static IEnumerable<string> RatioIds()
        => (from workload in Workloads
           from clients in BenchOptions.LoadClientCounts
           from id in Logs.Skip(1).SelectMany(log => new[] { "commit-p50", "commit-p99", "throughput" }.Select(metric => $"log.{workload.Id}.{log.Id}.{metric}.c{clients}"))
               .Concat(Logs.Select(log => $"log.{workload.Id}.{log.Id}-vs-{workload.Baseline}.throughput.c{clients}"))
           select id)
           .Concat(Workloads.Select(workload => $"log.{workload.Id}.kafka.commit-p50-extra-vs-goal.c1"))
           .Concat(["log.append.kafka-vs-embedded.throughput.x64", "log.append.kafka-vs-goal.throughput.x64"]);

    private sealed record Workload(
        string Id,
        string Title,
        string BaselineId,
        string BaselineLabel,
        Func<string, string> ConnectionString,
        Func<string, CancellationToken, Task<ILoadClient>> ConnectKhonsu,
        Func<CancellationToken, Task<ILoadClient>> ConnectBaseline);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section("Commit log: embedded vs Kafka (librdkafka's mock cluster, own process), same transactions, load driver");
        await using var mock = await KafkaMockCluster.StartAsync();
        await mock.SetRttAsync(BrokerRttMs);
        report.Figure($"log: Kafka mock cluster at {mock.Bootstrap}, broker round trip +{BrokerRttMs} ms; every Khonsu run opens a runtime of its own on an empty log (new embedded file, new one-partition topic) and closes it after the run");
        await MeasureAsync(
            new Workload(
                "transfer",
                "cross-backend transfer, PostgreSQL debit + SQLite credit",
                "2pc",
                "hand-written 2PC",
                log => environment.KhonsuBackends(2, log),
                (connectionString, token) => KhonsuTransferClient.ConnectAsync(connectionString, 1, token),
                token => HandTwoPhaseClient.ConnectAsync(environment, 1, token)),
            mock,
            cancellationToken);
        await MeasureAsync(
            new Workload(
                "rmw-postgres",
                "single-backend read-modify-write on PostgreSQL",
                "raw",
                "raw Npgsql, REPEATABLE READ",
                log => environment.KhonsuPostgresOnly(log),
                (connectionString, token) => KhonsuRmwClient.ConnectAsync(connectionString, "pg_accounts", BenchEnvironment.Accounts, token),
                token => RawPostgresRmwClient.ConnectAsync(environment.RawPostgres, "pg_accounts", BenchEnvironment.Accounts, System.Data.IsolationLevel.RepeatableRead, 1, token)),
            mock,
            cancellationToken);
        await MeasureAppendsAsync(mock, cancellationToken);
    }

    /// <summary>Commit records/s from <see cref="Appenders"/> appenders: a fresh Kafka log (a new topic) and a fresh embedded log file, interleaved.</summary>
    private async Task MeasureAppendsAsync(KafkaMockCluster mock, CancellationToken cancellationToken)
    {
        double embedded, kafka;
        var file = Path.Combine(environment.Directory, "log-append-bench.db");
        await using (var log = Khonsu.Engine.Log.EmbeddedCommitLog.Open(file))
        {
            embedded = await LogAppendThroughput.MeasureAsync(log, Appenders, options.RunDuration, cancellationToken);
        }

        var address = Khonsu.Log.Kafka.KafkaLogAddress.Parse(await mock.CreateLogAsync());
        await using (var log = await Khonsu.Log.Kafka.KafkaCommitLog.OpenAsync(new Khonsu.Log.Kafka.KafkaCommitLogOptions { Address = address, NodeId = "bench" }, cancellationToken))
        {
            kafka = await LogAppendThroughput.MeasureAsync(log, Appenders, options.RunDuration, cancellationToken);
        }

        report.Figure($"log.append: commit records/s from {Appenders} concurrent appenders, one process: embedded log {RatioReport.N(embedded, "0")}, Kafka log {RatioReport.N(kafka, "0")} (goal {RatioReport.N(RecordsPerSecondGoal, "0")})");
        report.Ratio("log.append.kafka-vs-embedded.throughput.x64", kafka / embedded, $"commit records/s from {Appenders} appenders, Kafka log / embedded log");
        report.Ratio("log.append.kafka-vs-goal.throughput.x64", kafka / RecordsPerSecondGoal, $"commit records/s from {Appenders} appenders, Kafka log / {RatioReport.N(RecordsPerSecondGoal, "0")} (issue 18's goal: at least 1)");
    }

    private async Task MeasureAsync(Workload workload, KafkaMockCluster mock, CancellationToken cancellationToken)
    {
        await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, workload.ConnectBaseline, cancellationToken);
        var table = new List<string>
        {
            $"{workload.Title}:",
            $"| clients | log | committed tx/s | aborted | tx p50 / p99 ms | commit step p50 / p99 ms | Kafka/embedded: tx/s, commit p50, p99 | tx/s / {workload.BaselineLabel} |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        };
        foreach (var clients in options.ClientCounts)
        {
            // Interleaved per client count (embedded, Kafka, Kafka 1 ms, baseline), so the machine's
            // noise of the moment hits every side of a ratio alike.
            var results = new Dictionary<string, LoadResult>();
            foreach (var (id, label, kafkaKeys) in Logs)
            {
                var log = kafkaKeys is null
                    ? environment.EmbeddedLog($"section-{workload.Id}-c{clients}")
                    : $"Log=\"{await mock.CreateLogAsync()}\"{kafkaKeys}";
                results[id] = await RunOnFreshRuntimeAsync(workload, label, clients, log, cancellationToken);
            }

            var baseline = await LoadDriver.RunAsync(workload.BaselineLabel, clients, options.RunDuration, workload.ConnectBaseline, cancellationToken);
            foreach (var result in results.Values.Append(baseline))
            {
                report.Figure($"log.{workload.Id} {workload.Title}: {result}");
            }

            var reference = results["embedded"];
            foreach (var (id, label, _) in Logs.Skip(1))
            {
                var kafka = results[id];
                report.Ratio($"log.{workload.Id}.{id}.commit-p50.c{clients}", kafka.CommitP50Ms / reference.CommitP50Ms, $"{workload.Id}, p50 of the commit step at {clients} client(s), {label} / embedded log");
                report.Ratio($"log.{workload.Id}.{id}.commit-p99.c{clients}", kafka.CommitP99Ms / reference.CommitP99Ms, $"{workload.Id}, p99 of the commit step at {clients} client(s), {label} / embedded log");
                report.Ratio($"log.{workload.Id}.{id}.throughput.c{clients}", kafka.Throughput / reference.Throughput, $"{workload.Id}, committed tx/s at {clients} client(s), {label} / embedded log");
            }

            if (clients == 1)
            {
                var extra = results["kafka"].CommitP50Ms - reference.CommitP50Ms;
                report.Figure($"log.{workload.Id}: commit step p50 at 1 client, Kafka log {RatioReport.N(results["kafka"].CommitP50Ms, "0.00")} ms - embedded log {RatioReport.N(reference.CommitP50Ms, "0.00")} ms = {RatioReport.N(extra, "0.00")} ms (goal: at most {RatioReport.N(ExtraCommitMsGoal)} ms)");
                report.Ratio($"log.{workload.Id}.kafka.commit-p50-extra-vs-goal.c1", extra / ExtraCommitMsGoal, $"{workload.Id}, (Kafka - embedded) commit step p50 at 1 client / {RatioReport.N(ExtraCommitMsGoal)} ms (issue 18's goal: at most 1)");
            }

            foreach (var (id, label, _) in Logs)
            {
                report.Ratio($"log.{workload.Id}.{id}-vs-{workload.BaselineId}.throughput.c{clients}", results[id].Throughput / baseline.Throughput, $"{workload.Id}, committed tx/s at {clients} client(s), {label} / {workload.BaselineLabel}");
            }

            foreach (var (id, _, _) in Logs)
            {
                var r = results[id];
                var versus = id == "embedded" ? "1 (reference)" : $"{Format(r.Throughput / reference.Throughput)}, {Format(r.CommitP50Ms / reference.CommitP50Ms)}, {Format(r.CommitP99Ms / reference.CommitP99Ms)}";
                table.Add($"| {clients} | {id} | {Row(r)} | {versus} | {Format(r.Throughput / baseline.Throughput)} |");
            }

            table.Add($"| {clients} | {workload.BaselineId} | {Row(baseline)} | | |");
        }

        // The section's figures once more as a Markdown table (what docs/benchmarks.md shows).
        table.ForEach(report.Note);
    }

    /// <summary>
    /// One measured run on a runtime of its own over an empty log (a new embedded file, a new
    /// topic), so every side starts alike: no certifier history carried over from earlier runs, and
    /// no Kafka tail consumer left polling the broker through the runs that follow. Warm-up at the
    /// measured client count first: Khonsu opens a client's PostgreSQL connection at its first
    /// statement, and the warm-up leaves that many in the pool, so no side pays for connecting (or
    /// the Kafka side for its producer's start) inside its measured run.
    /// </summary>
    private async Task<LoadResult> RunOnFreshRuntimeAsync(Workload workload, string label, int clients, string log, CancellationToken cancellationToken)
    {
        var connectionString = workload.ConnectionString(log);
        try
        {
            await environment.OpenOnceAsync(connectionString, cancellationToken);
            await LoadDriver.RunAsync("warm-up", clients, options.WarmupDuration, token => workload.ConnectKhonsu(connectionString, token), cancellationToken);
            return await LoadDriver.RunAsync(label, clients, options.RunDuration, token => workload.ConnectKhonsu(connectionString, token), cancellationToken);
        }
        finally
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        }
    }

    private static string Row(LoadResult r)
        => $"{RatioReport.N(r.Throughput, "0")} | {RatioReport.N(100 * r.AbortFraction, "0.0")} % | {RatioReport.N(r.P50Ms, "0.00")} / {RatioReport.N(r.P99Ms, "0.00")} | {RatioReport.N(r.CommitP50Ms, "0.00")} / {RatioReport.N(r.CommitP99Ms, "0.00")}";

    private static string Format(double value) => double.IsFinite(value) ? value.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
