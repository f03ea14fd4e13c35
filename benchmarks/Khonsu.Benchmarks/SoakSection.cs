using System.Diagnostics;
using System.Globalization;
using Dapper;
using Khonsu.Data;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Log.Kafka;
using Khonsu.Testing;
using Microsoft.Data.Sqlite;

namespace Khonsu.Benchmarks;

/// <summary>
/// The soak: many transactions in a row, to show that what the log and the databases hold stops
/// growing once the retention has passed, and that throughput at the end matches the start.
/// <list type="bullet">
/// <item>Embedded log: whole Khonsu transactions, 8 clients each moving 1 between the two SQLite
/// files of a pair, of two pairs (two backends, so every transaction has a commit record, an end
/// record, an applied-marker in each file and two transaction_log rows; two pairs so that transfers
/// run side by side), with <c>TransactionLogRetention=60</c> and the sweeper every second. Disk is the
/// log's file, WAL and shared memory plus the databases' (markers included).</item>
/// <item>Kafka log: at the log level (<see cref="KafkaCommitLog"/> on librdkafka's mock cluster, no
/// databases: through Khonsu a Kafka transaction runs at about 450 tx/s today), 64 appenders each
/// appending a commit record with two participants and a row image, then its end record; one in 20
/// an abort instead. The outcome limits are shortened (transactions 60 s, skew 10 s, commits kept
/// 10 s), as a short retention: the index and every checkpoint hold the last 80 s of aborts and
/// 10 s of commits.</item>
/// </list>
/// Every 5 % of the run a sample: throughput since the last one, bytes on disk or held, and the
/// managed heap after a full collection.
/// </summary>
internal sealed class SoakSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int EmbeddedClients = 8;
    private const int Files = 4;
    private const int Appenders = 64;
    private const int Samples = 20;
    private const int Retention = 60;

    private static readonly OutcomeLimits KafkaLimits = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), 20_000);

    public static IEnumerable<string> RatioIds()
        => from log in new[] { "embedded", "kafka" }
           from id in log == "embedded" ? new[] { "throughput.end-vs-start", "disk.end-vs-mid", "heap.end-vs-mid" } : ["throughput.end-vs-start", "heap.end-vs-mid", "checkpoint.end-vs-mid", "outcomes.end-vs-mid"]
           select $"soak.{log}.{id}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var transactions = options.SoakTransactions;
        report.Section($"Soak: {transactions:N0} transactions through the embedded log (whole transactions, SQLite files) and through the Kafka log (appends, mock cluster)");
        var embedded = await EmbeddedAsync(transactions, cancellationToken);
        Print("embedded", embedded, "khonsu_log records", "transaction_log rows");
        report.Ratio("soak.embedded.throughput.end-vs-start", EndVersusStart(embedded), "committed tx/s over the last 10 % of the soak / over the first 10 %, embedded log");
        report.Ratio("soak.embedded.disk.end-vs-mid", Last(embedded).DiskBytes / (double)Middle(embedded).DiskBytes, "bytes on disk (log file, WAL, the four databases) at the end / half-way");
        report.Ratio("soak.embedded.heap.end-vs-mid", Last(embedded).HeapBytes / (double)Middle(embedded).HeapBytes, "managed heap after a full collection at the end / half-way, embedded log");

        var kafka = await KafkaAsync(transactions, cancellationToken);
        Print("kafka", kafka, "outcomes remembered", "checkpoint bytes");
        report.Ratio("soak.kafka.throughput.end-vs-start", EndVersusStart(kafka), "transactions (commit and end appended) per second over the last 10 % / the first 10 %, Kafka log");
        report.Ratio("soak.kafka.heap.end-vs-mid", Last(kafka).HeapBytes / (double)Middle(kafka).HeapBytes, "managed heap after a full collection at the end / half-way, Kafka log");
        report.Ratio("soak.kafka.checkpoint.end-vs-mid", Last(kafka).Stored / (double)Middle(kafka).Stored, "bytes of the last checkpoint at the end / half-way");
        report.Ratio("soak.kafka.outcomes.end-vs-mid", Last(kafka).Held / (double)Middle(kafka).Held, "outcomes the Kafka log's index remembers at the end / half-way");
    }

    private async Task<List<SoakSample>> EmbeddedAsync(long transactions, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(environment.Directory, "soak");
        Directory.CreateDirectory(directory);
        var files = Enumerable.Range(1, Files).Select(i => Path.Combine(directory, $"soak-{i}.db")).ToArray();
        for (var i = 0; i < Files; i++)
        {
            await using var connection = await BenchEnvironment.OpenRawSqliteAsync(files[i], cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA journal_mode = WAL; CREATE TABLE {Table(i)} (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); " +
                $"WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < {BenchEnvironment.Accounts}) INSERT INTO {Table(i)} SELECT id, 1000000 FROM n",
                cancellationToken: cancellationToken));
        }

        var log = Path.Combine(directory, "soak-log.db");
        var backends = string.Concat(files.Select((file, i) => $"Sqlite.s{i + 1}=\"Data Source={file}\";"));
        var connectionString = $"Khonsu:{backends}Log=\"{log}\";RecoveryInterval=1;TransactionLogRetention={Retention}";
        report.Figure($"soak.embedded: {transactions:N0} transfers within one of two pairs of SQLite files, {EmbeddedClients} clients, TransactionLogRetention={Retention} s, truncation every second (RecoveryInterval=1)");
        environment.Remember(connectionString, files);
        await environment.OpenOnceAsync(connectionString, cancellationToken);
        try
        {
            var clients = new List<KhonsuConnection>();
            for (var i = 0; i < EmbeddedClients; i++)
            {
                var connection = new KhonsuConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                clients.Add(connection);
            }

            var paths = files.Prepend(log).SelectMany(f => new[] { f, f + "-wal", f + "-shm" }).ToArray();
            return await RunAsync(
                transactions,
                clients.Select(c => (Func<Random, Task>)(random => TransferAsync(c, random, cancellationToken))).ToList(),
                async () =>
                {
                    long markers = 0;
                    foreach (var file in files)
                    {
                        markers += await CountAsync(file, "SELECT count(*) FROM khonsu_applied");
                    }

                    return (paths.Sum(p => File.Exists(p) ? new FileInfo(p).Length : 0),
                        await CountAsync(log, "SELECT count(*) FROM khonsu_log"),
                        await CountAsync(log, "SELECT count(*) FROM transaction_log"),
                        markers);
                },
                cancellationToken);
        }
        finally
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        }
    }

    private static string Table(int file) => $"soak{file + 1}_accounts";

    /// <summary>
    /// Moves 1 between random accounts of the two files of a random pair (1-2 or 3-4): two backends,
    /// so two-phase with a commit record; the two pairs run side by side. Files are always written
    /// in the same order: transfers between any two of four files in any order spend most of their
    /// time in waits that cross files (about 25 tx/s here, with as many aborted attempts as commits),
    /// which is the liveness issue, not what this soak measures.
    /// </summary>
    private static async Task TransferAsync(KhonsuConnection connection, Random random, CancellationToken cancellationToken)
    {
        var from = 2 * random.Next(Files / 2);
        var to = from + 1;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition($"UPDATE {Table(from)} SET balance = balance - 1 WHERE id = @id", new { id = random.Next(1, BenchEnvironment.Accounts + 1) }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition($"UPDATE {Table(to)} SET balance = balance + 1 WHERE id = @id", new { id = random.Next(1, BenchEnvironment.Accounts + 1) }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<List<SoakSample>> KafkaAsync(long transactions, CancellationToken cancellationToken)
    {
        await using var mock = await KafkaMockCluster.StartAsync();
        var address = await mock.CreateLogAsync();
        report.Figure($"soak.kafka: {transactions:N0} transactions appended to {address} (commit or, one in 20, abort, then end), {Appenders} appenders, fetch.wait.max.ms=1, checkpoints every 10,000 records, transactions limited to {KafkaLimits.MaxTransactionAge.TotalSeconds:0} s, commits remembered {KafkaLimits.CommitGrace.TotalSeconds:0} s and aborts {KafkaLimits.Horizon.TotalSeconds:0} s after their end");
        await using var log = await KafkaCommitLog.OpenAsync(
            new KafkaCommitLogOptions
            {
                Address = KafkaLogAddress.Parse(address),
                ClientSettings = new Dictionary<string, string> { ["fetch.wait.max.ms"] = "1" },
                NodeId = "soak",
                OutcomeLimits = KafkaLimits,
            },
            cancellationToken);
        var appenders = Enumerable.Range(0, Appenders).Select(_ => (Func<Random, Task>)(random => AppendTransactionAsync(log, random, cancellationToken))).ToList();
        return await RunAsync(
            transactions,
            appenders,
            () => Task.FromResult((0L, (long)log.IndexSize.Remembered, (long)(log.LastCheckpoint?.Bytes ?? 0), 0L)),
            cancellationToken);
    }

    /// <summary>What a transaction on two backends writes to the log: its decision (with a row image to redo) and its end.</summary>
    private static async Task AppendTransactionAsync(KafkaCommitLog log, Random random, CancellationToken cancellationToken)
    {
        var id = TransactionId.New();
        var abort = random.Next(20) == 0;
        var row = random.Next(1, BenchEnvironment.Accounts + 1);
        var decision = new LogRecord
        {
            Kind = abort ? LogRecordKind.Abort : LogRecordKind.Commit,
            TransactionId = id,
            NodeId = "soak",
            Timestamp = DateTimeOffset.UtcNow,
            StartedAt = DateTimeOffset.UtcNow,
            Reason = abort ? "write-write conflict on ledger.accounts" : null,
            Participants = abort
                ? [new ParticipantVote("ledger", false, []), new ParticipantVote("shop", false, [])]
                :
                [
                    new ParticipantVote("ledger", true, [new RowWrite("accounts", row.ToString(CultureInfo.InvariantCulture), WriteKind.Update, 3, 4, new RowImage(["id", "balance"], [(long)row, 75L]))]),
                    new ParticipantVote("shop", false, [new RowWrite("orders", id.ToString(), WriteKind.Insert, null, 1, null)]),
                ],
        };
        await log.AppendAsync(decision, cancellationToken);
        await log.AppendAsync(
            decision with { Kind = LogRecordKind.End, Reason = null, Timestamp = DateTimeOffset.UtcNow, Participants = [new ParticipantVote("ledger", false, []), new ParticipantVote("shop", false, [])] },
            cancellationToken);
    }

    /// <summary>
    /// Runs the workers until <paramref name="transactions"/> are done (a transient failure is
    /// retried after a short jittered backoff), sampling every 5 % of them.
    /// </summary>
    private async Task<List<SoakSample>> RunAsync(
        long transactions, IReadOnlyList<Func<Random, Task>> workers, Func<Task<(long Disk, long Held, long Stored, long Markers)>> measure, CancellationToken cancellationToken)
    {
        long done = 0;
        long aborted = 0;
        var latencies = new System.Collections.Concurrent.ConcurrentQueue<double>();
        using var truncation = DurationMeter.Truncation();
        var clock = Stopwatch.StartNew();
        var running = workers.Select((work, i) => Task.Run(
            async () =>
            {
                var random = new Random(i * 7919 + 17);
                while (Interlocked.Read(ref done) < transactions)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        await work(random);
                        Interlocked.Increment(ref done);
                        latencies.Enqueue(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                    catch (Exception e) when (LoadDriver.IsTransient(e))
                    {
                        Interlocked.Increment(ref aborted);
                        await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * 5), cancellationToken);
                    }
                }
            },
            cancellationToken)).ToList();

        var samples = new List<SoakSample>();
        var (lastCount, lastSeconds) = (0L, 0.0);
        for (var sample = 1; sample <= Samples; sample++)
        {
            var mark = transactions * sample / Samples;
            while (Interlocked.Read(ref done) < mark)
            {
                if (running.FirstOrDefault(t => t.IsFaulted) is { } failed)
                {
                    await failed; // a worker died: fail the run with its error
                }

                await Task.Delay(20, cancellationToken);
            }

            var (count, seconds) = (Interlocked.Read(ref done), clock.Elapsed.TotalSeconds);
            var (disk, held, stored, markers) = await measure();
            var window = new List<double>();
            while (latencies.TryDequeue(out var latency))
            {
                window.Add(latency);
            }

            window.Sort();
            var p99 = window.Count == 0 ? double.NaN : window[Math.Min(window.Count - 1, (int)(0.99 * window.Count))];
            var taken = new SoakSample(count, seconds, (count - lastCount) / Math.Max(1e-9, seconds - lastSeconds), p99, disk, held, stored, markers, Heap());
            samples.Add(taken);
            report.Note($"  soak sample: {Describe(taken)}");
            (lastCount, lastSeconds) = (count, clock.Elapsed.TotalSeconds);
        }

        await Task.WhenAll(running);
        var total = clock.Elapsed.TotalSeconds;
        report.Figure($"soak: {Interlocked.Read(ref done):N0} transactions in {total:0} s ({Interlocked.Read(ref done) / total:0} tx/s), {aborted:N0} aborted attempts retried");
        if (truncation.Ran)
        {
            report.Figure($"soak: truncation batches {truncation.Describe(total)}");
        }
        return samples;
    }

    private void Print(string log, List<SoakSample> samples, string held, string stored)
    {
        report.Note($"soak.{log}:");
        report.Note($"| transactions | seconds | tx/s (window) | tx p99 ms | disk MiB | {held} | {stored} | markers | GC heap MiB |");
        report.Note("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in samples)
        {
            report.Note(string.Create(CultureInfo.InvariantCulture, $"| {s.Transactions:N0} | {s.Seconds:0} | {s.WindowThroughput:0} | {s.P99Ms:0.0} | {s.DiskBytes / 1048576.0:0.0} | {s.Held:N0} | {s.Stored:N0} | {s.Markers:N0} | {s.HeapBytes / 1048576.0:0.0} |"));
        }

        report.Figure($"soak.{log}: first sample {Describe(samples[0])}; half-way {Describe(Middle(samples))}; last {Describe(Last(samples))}");
    }

    private static string Describe(SoakSample s)
        => string.Create(CultureInfo.InvariantCulture, $"{s.Transactions:N0} tx at {s.Seconds:0.0} s, {s.WindowThroughput:0} tx/s, p99 {s.P99Ms:0.0} ms, disk {s.DiskBytes / 1048576.0:0.0} MiB, held {s.Held:N0}, stored {s.Stored:N0}, markers {s.Markers:N0}, heap {s.HeapBytes / 1048576.0:0.0} MiB");

    /// <summary>Throughput over the last two windows (10 % of the run) over that of the first two.</summary>
    private static double EndVersusStart(List<SoakSample> samples)
    {
        double Over(IEnumerable<SoakSample> window, SoakSample? before)
        {
            var list = window.ToList();
            var (fromCount, fromSeconds) = before is null ? (0L, 0.0) : (before.Transactions, before.Seconds);
            return (list[^1].Transactions - fromCount) / Math.Max(1e-9, list[^1].Seconds - fromSeconds);
        }

        return Over(samples.TakeLast(2), samples[^3]) / Over(samples.Take(2), null);
    }

    /// <summary>The managed heap after a full, compacting collection: what the process holds, not what it has not collected yet.</summary>
    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes;
    }

    private static SoakSample Middle(List<SoakSample> samples) => samples[(samples.Count / 2) - 1];

    private static SoakSample Last(List<SoakSample> samples) => samples[^1];

    private static async Task<long> CountAsync(string file, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql);
    }
}
