using System.Collections.Concurrent;
using System.Data;
using Khonsu.Checker.Checking;
using Khonsu.Checker.History;
using Khonsu.Data;
using Khonsu.Testing;

namespace Khonsu.Checker.Workload;

/// <summary>
/// Runs the workload for a while (with the nemesis if asked), recovers, reads the final state and
/// the audit rows from both databases, and checks the history.
/// </summary>
public static class WorkloadRunner
{
    /// <summary>Brokers of the mock cluster a Kafka run uses.</summary>
    private const int KafkaBrokers = 3;

    public static async Task<RunReport> RunAsync(WorkloadOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        if ((options.Nemesis || options.Processes > 1) && options.Mode == WorkloadMode.Khonsu && options.RunnerPath is null)
        {
            throw new ArgumentException("The nemesis and several processes need RunnerPath to start child processes.", nameof(options));
        }

        if (options.Processes > 1 && !options.Kafka)
        {
            throw new ArgumentException($"{options.Processes} processes need a Kafka log (--kafka on): an embedded log belongs to one process.", nameof(options));
        }

        var keys = new Keyspace(options.KeysPerBackend);
        // Three brokers, the log's partition replicated on each, so the nemesis can move its leader.
        await using var kafka = options.Kafka ? await KafkaMockCluster.StartAsync(KafkaBrokers) : null;
        var topic = $"checker-{options.Seed}";
        // The log's topic is created first, as docs/kafka-log.md asks of an operator: librdkafka 2.x
        // clients do not have the brokers create a topic on first read.
        var settings = kafka is null ? options.ExtraSettings : $"{options.ExtraSettings};Log={await kafka.CreateLogAsync(topic, KafkaBrokers)}";
        if (kafka is not null)
        {
            await kafka.MoveLeaderAsync(topic, 1); // the leader the nemesis starts from
        }

        await using var databases = await RunDatabases.CreateAsync(options.PostgresServer, keys, settings, cancellationToken);
        var initial = await databases.ReadRegistersAsync(cancellationToken);
        var history = new TransactionHistory();
        var stats = new NemesisStats();
        var reasons = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var random = new Random(options.Seed);
        var nemesis = new Nemesis(databases, random, stats, options.RestartPostgres, kafka, topic, KafkaBrokers);
        var serials = new Serials();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await log.WriteLineAsync($"workload: {options.Mode}, {options.Isolation}, {options.Processes} process(es) of {options.Clients} clients, {keys.PerBackend} registers per backend, nemesis {(options.Nemesis ? "on" : "off")}, {options.Duration.TotalSeconds:0} s{(options.ExtraSettings.Length > 0 ? ", Khonsu settings: " + options.ExtraSettings : "")}");

        // The other processes of the application run for the whole workload, at the same time as the
        // runner's clients and each other, on the same log and databases: each is SIGKILLed at a
        // random moment with the nemesis (at the end otherwise) and started again at once.
        using var endOfWorkload = new CancellationTokenSource(options.Duration);
        var otherProcesses = Enumerable.Range(1, options.Processes - 1).Select(_ => Task.Run(async () =>
        {
            while (!endOfWorkload.IsCancellationRequested)
            {
                // A fresh serial per start: every value written in the run stays unique.
                await nemesis.RunChildAsync(options.RunnerPath!, options, serials.Take(options.Clients), history, databases.KhonsuConnectionString, endOfWorkload.Token, killAtRandom: options.Nemesis);
            }
        })).ToList();

        while (clock.Elapsed < options.Duration)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var left = options.Duration - clock.Elapsed;
            var phase = options.Nemesis ? TimeSpan.FromMilliseconds(Math.Min(left.TotalMilliseconds, random.Next(2000, 5000))) : left;
            await RunInProcessAsync(options, databases, keys, history, reasons, nemesis, serials, phase);
            if (options.Nemesis && options.Mode == WorkloadMode.Khonsu && options.Processes == 1 && clock.Elapsed < options.Duration)
            {
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(databases.KhonsuConnectionString)); // one process per embedded log
                await nemesis.RunChildAsync(options.RunnerPath!, options, serials.Take(options.Clients), history);
            }
        }

        await Task.WhenAll(otherProcesses);

        var unresolved = options.Mode == WorkloadMode.Khonsu ? await RecoverAsync(databases, cancellationToken) : 0;
        var state = new FinalState(initial, await databases.ReadRegistersAsync(cancellationToken), await databases.ReadInstalledAsync(cancellationToken));
        if (options.HistoryPath is { } path)
        {
            await File.WriteAllLinesAsync(path, history.Events.Select(HistoryCodec.Encode), cancellationToken);
        }

        var transactions = history.Transactions();
        var result = HistoryChecker.Check(transactions, state);
        if (!result.Valid && options.EvidenceDirectory is { } evidenceRoot)
        {
            // Keep the evidence: the databases are dropped with the run.
            var evidence = Path.Combine(evidenceRoot, $"seed{options.Seed}-{DateTime.UtcNow:yyyyMMddHHmmss}");
            Directory.CreateDirectory(evidence);
            await File.WriteAllLinesAsync(Path.Combine(evidence, "history.jsonl"), history.Events.Select(HistoryCodec.Encode), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(evidence, "final-state.json"), System.Text.Json.JsonSerializer.Serialize(state), cancellationToken);
            await log.WriteLineAsync($"evidence (history and final state): {evidence}");
        }
        var unknown = transactions.Where(t => t.Outcome == Outcome.Unknown).ToList();
        var installedBy = state.Installed!.Select(w => w.TransactionId).ToHashSet(StringComparer.Ordinal);
        var unknownCommitted = unknown.Count(t => installedBy.Contains(t.Id));
        var report = new RunReport(options, result, stats, new Dictionary<string, int>(reasons, StringComparer.Ordinal), unresolved, unknown.Count, unknownCommitted);
        await PrintAsync(report, log);
        return report;
    }

    private static async Task RunInProcessAsync(WorkloadOptions options, RunDatabases databases, Keyspace keys, TransactionHistory history, ConcurrentDictionary<string, int> reasons, Nemesis nemesis, Serials serials, TimeSpan phase)
    {
        var serialBase = serials.Take(options.Clients);
        using var stop = new CancellationTokenSource(phase);
        var clients = Enumerable.Range(0, options.Clients).Select(async i =>
        {
            await using ITransactionExecutor executor = options.Mode == WorkloadMode.Khonsu
                ? new KhonsuExecutor(databases.KhonsuConnectionString, options.Isolation)
                : new RawTwoPhaseExecutor(databases.SqliteConnectionString, databases.PostgresConnectionString);
            var planner = new OpPlanner(keys, serialBase + i, options.Seed, options.WriteSkewShare);
            await ClientLoop.RunAsync(planner, executor, e => history.Add(e), e =>
            {
                if (e.Reason is { } reason)
                {
                    reasons.AddOrUpdate($"{e.Outcome}: {reason}", 1, (_, n) => n + 1);
                }
            }, stop.Token);
        }).ToList();
        if (options.Nemesis)
        {
            clients.Add(nemesis.RunFaultsAsync(stop.Token));
        }


        await Task.WhenAll(clients);
    }

    /// <summary>Recovery from a fresh runtime, repeated until no transaction is left prepared (the lease is 1 s).</summary>
    private static async Task<int> RecoverAsync(RunDatabases databases, CancellationToken cancellationToken)
    {
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(databases.KhonsuConnectionString));
        Npgsql.NpgsqlConnection.ClearAllPools(); // sessions the nemesis terminated
        await using var connection = new KhonsuConnection(databases.KhonsuConnectionString);
        await connection.OpenAsync(cancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await connection.RecoverAsync(cancellationToken);
            }
            catch (System.Data.Common.DbException) when (DateTime.UtcNow < deadline)
            {
                Npgsql.NpgsqlConnection.ClearAllPools();
            }

            var prepared = await databases.PreparedCountAsync(cancellationToken);
            if (prepared == 0 || DateTime.UtcNow > deadline)
            {
                return (int)prepared;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken); // waiting for prepare leases to run out
        }
    }

    private static async Task PrintAsync(RunReport report, TextWriter log)
    {
        var result = report.Result;
        if (report.Options.Nemesis)
        {
            await log.WriteLineAsync($"nemesis: {report.Nemesis}");
        }

        await log.WriteLineAsync($"outcomes: {report.UnknownInHistory} of {result.Committed + result.Aborted + result.Unknown} transactions had an unknown outcome (killed or commit unknown), {report.UnknownCommitted} of which the audit rows show committed; in all {result.Committed} committed, {result.Aborted} aborted, {result.Unknown} still unknown; {report.UnresolvedPrepared} left prepared after recovery");
        foreach (var (reason, count) in report.FailureReasons.OrderByDescending(r => r.Value).Take(8))
        {
            await log.WriteLineAsync($"  {count,6} x {reason}");
        }

        var share = result.AbortedAtCommit == 0 ? "-" : (result.FalsePositives / (double)result.AbortedAtCommit).ToString("0.0%", System.Globalization.CultureInfo.InvariantCulture);
        await log.WriteLineAsync($"false positives: {result.FalsePositives} of {result.AbortedAtCommit} aborts at commit ({share}) would have left the history serializable had they committed (docs/checker.md)");
        await log.WriteLineAsync($"anomalies: {result.Summary()}");
        foreach (var anomaly in result.Anomalies.Take(20))
        {
            await log.WriteLineAsync($"  {anomaly}");
        }

        foreach (var lost in result.Lost.Take(20))
        {
            await log.WriteLineAsync($"  {lost}");
        }

        foreach (var partial in result.Partial.Take(20))
        {
            await log.WriteLineAsync($"  {partial}");
        }

        await log.WriteLineAsync(report.ClosingLine);
    }

    /// <summary>Client serials, handed out so that no two clients of the run, in any process, share one.</summary>
    private sealed class Serials
    {
        private int _next = 1;

        /// <summary>The first of <paramref name="count"/> fresh serials.</summary>
        public int Take(int count) => Interlocked.Add(ref _next, count) - count;
    }
}
