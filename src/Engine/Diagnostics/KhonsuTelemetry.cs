using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Khonsu.Engine.Certification;

namespace Khonsu.Engine.Diagnostics;

/// <summary>
/// Khonsu's metrics and traces: a Meter and an ActivitySource both named "Khonsu", so an
/// OpenTelemetry setup adds them with AddMeter("Khonsu") and AddSource("Khonsu").
/// </summary>
internal static class KhonsuTelemetry
{
    public const string Name = "Khonsu";

    public static readonly ActivitySource ActivitySource = new(Name, typeof(KhonsuTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(Name, typeof(KhonsuTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Transactions that went through the commit protocol, tagged khonsu.outcome (committed, aborted, unknown) and, for aborts, khonsu.abort_reason.</summary>
    internal static readonly Counter<long> Transactions = Meter.CreateCounter<long>("khonsu.transactions", "{transaction}", "Transactions that finished the commit protocol, by outcome.");

    /// <summary>Commit latency per phase (khonsu.phase: prepare, log, finish), and in total.</summary>
    internal static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("khonsu.commit.duration", "s", "Time spent in each phase of the commit protocol.");

    /// <summary>How long an append waits until its record is durable.</summary>
    internal static readonly Histogram<double> LogAppendDuration = Meter.CreateHistogram<double>("khonsu.log.append.duration", "s", "Time until a log record is durable.");

    /// <summary>Records per group commit: how many commits shared one sync.</summary>
    internal static readonly Histogram<long> LogBatchSize = Meter.CreateHistogram<long>("khonsu.log.batch.size", "{record}", "Records written per log sync (group commit).");

    /// <summary>Transactions recovery found undecided on a participant and could not finish yet.</summary>
    internal static readonly Counter<long> InDoubt = Meter.CreateCounter<long>("khonsu.recovery.in_doubt", "{transaction}", "Participants recovery could not finish on a pass.");

    /// <summary>Write-write conflicts a statement met and its table's conflict policy resolved, tagged khonsu.policy (ignore, replace) and khonsu.backend.</summary>
    internal static readonly Counter<long> ConflictsResolved = Meter.CreateCounter<long>("khonsu.conflicts.resolved", "{conflict}", "Write-write conflicts resolved by a conflict policy instead of aborting.");

    /// <summary>How long a deferrable read-only transaction waited for a safe snapshot, tagged khonsu.outcome (safe, cancelled, timeout).</summary>
    internal static readonly Histogram<double> SafeSnapshotWait = Meter.CreateHistogram<double>("khonsu.safe_snapshot.wait", "s", "Time a deferrable read-only transaction waited at begin for a safe snapshot.");

    /// <summary>Safe-snapshot candidates given up (a concurrent writer made one unsafe, or committed while its backend snapshots were taken).</summary>
    internal static readonly Counter<long> SafeSnapshotRetries = Meter.CreateCounter<long>("khonsu.safe_snapshot.retries", "{snapshot}", "Snapshots a deferrable read-only transaction took again before one was safe.");

    /// <summary>
    /// What truncation deleted, tagged khonsu.truncation.kind: log_records (the embedded log's),
    /// transaction_log_rows (past TransactionLogRetention), applied_markers (with khonsu.backend).
    /// </summary>
    internal static readonly Counter<long> Truncated = Meter.CreateCounter<long>(
        "khonsu.truncation.deleted", "{item}", "Log records, transaction_log rows and applied-markers that truncation deleted, by kind.");

    /// <summary>How long one truncation batch held the log's writer or a backend, tagged khonsu.truncation.kind.</summary>
    internal static readonly Histogram<double> TruncationBatchDuration = Meter.CreateHistogram<double>(
        "khonsu.truncation.batch.duration", "s", "Time one truncation batch held the log writer or a backend.");

    /// <summary>The tag values of khonsu.truncation.kind.</summary>
    internal const string LogRecords = "log_records";

    internal const string TransactionLogRows = "transaction_log_rows";

    internal const string AppliedMarkers = "applied_markers";

    internal static void RecordTruncation(string kind, long deleted, TimeSpan took, string? backend = null)
    {
        var kindTag = new KeyValuePair<string, object?>("khonsu.truncation.kind", kind);
        TruncationBatchDuration.Record(took.TotalSeconds, kindTag);
        if (deleted > 0)
        {
            if (backend is null)
            {
                Truncated.Add(deleted, kindTag);
            }
            else
            {
                Truncated.Add(deleted, kindTag, new KeyValuePair<string, object?>("khonsu.backend", backend));
            }
        }
    }

    /// <summary>Every open shared (Kafka) log, weakly, with how to read how many outcomes its index remembers.</summary>
    private static readonly ConditionalWeakTable<object, Func<long>> SharedLogs = [];

    /// <summary>Transaction outcomes a shared log's index remembers (bounded: see docs/kafka-log.md, "What the index keeps").</summary>
    internal static readonly ObservableGauge<long> LogOutcomes = Meter.CreateObservableGauge(
        "khonsu.log.outcomes", () => SharedLogs.Sum(l => l.Value()), "{transaction}", "Transaction outcomes the shared log's index remembers.");

    /// <summary>Outcomes a shared log's index forgot (the transaction ended long enough ago).</summary>
    internal static readonly Counter<long> LogOutcomesForgotten = Meter.CreateCounter<long>(
        "khonsu.log.outcomes.forgotten", "{transaction}", "Transaction outcomes the shared log's index forgot.");

    internal static void TrackSharedLog(object log, Func<long> remembered) => SharedLogs.AddOrUpdate(log, remembered);

    internal static void UntrackSharedLog(object log) => SharedLogs.Remove(log);

    /// <summary>Every live certifier, weakly: the gauges below sum over them without keeping them alive.</summary>
    private static readonly ConditionalWeakTable<ICertifierMemory, object?> Certifiers = [];

    /// <summary>The certifier's memory: transactions it remembers in full, and the items (rows, tables) they read and wrote.</summary>
    internal static readonly ObservableGauge<long> CertifierTransactions = Meter.CreateObservableGauge(
        "khonsu.certifier.transactions", () => Certifiers.Sum(c => (long)c.Key.RememberedTransactions), "{transaction}", "Committed transactions the certifier remembers in full.");

    internal static readonly ObservableGauge<long> CertifierItems = Meter.CreateObservableGauge(
        "khonsu.certifier.items", () => Certifiers.Sum(c => c.Key.RememberedItems), "{item}", "Read and written items of the transactions the certifier remembers in full.");

    internal static void Track(ICertifierMemory certifier) => Certifiers.AddOrUpdate(certifier, null);

    /// <summary>Every running transaction_log materialiser (Khonsu.Data), weakly, with the backend it writes to and how to read its lag.</summary>
    private static readonly ConditionalWeakTable<object, LagSource> TransactionLogs = [];

    /// <summary>How far each materialised transaction_log is behind the Kafka log, tagged khonsu.backend.</summary>
    internal static readonly ObservableGauge<long> TransactionLogLag = Meter.CreateObservableGauge(
        "khonsu.transaction_log.lag",
        () => TransactionLogs.Select(t => new Measurement<long>(t.Value.Lag(), new KeyValuePair<string, object?>("khonsu.backend", t.Value.Backend))),
        "{record}",
        "Log records not yet applied to the materialised transaction_log.");

    internal static void TrackTransactionLog(object materializer, string backend, Func<long> lag) => TransactionLogs.AddOrUpdate(materializer, new LagSource(backend, lag));

    internal static void UntrackTransactionLog(object materializer) => TransactionLogs.Remove(materializer);

    /// <summary>Prefetched statements judged, tagged khonsu.prefetch.outcome: consumed (the application ran it and was served) or dropped.</summary>
    internal static readonly Counter<long> PrefetchedStatements = Meter.CreateCounter<long>(
        "khonsu.prefetch.statements", "{statement}", "Prefetched reads, by whether the application consumed them.");

    /// <summary>Reads the application ran with prefetching on, tagged khonsu.prefetch.served (true: from a prefetch).</summary>
    internal static readonly Counter<long> PrefetchReads = Meter.CreateCounter<long>(
        "khonsu.prefetch.reads", "{statement}", "Reads the application ran with prefetching on, by whether a prefetch served them.");

    /// <summary>Every live prefetch model, weakly, for the precision and recall gauges.</summary>
    private static readonly ConditionalWeakTable<Prefetch.FollowUpModel, object?> PrefetchModels = [];

    /// <summary>Each live model's precision: consumed prefetches over judged ones.</summary>
    internal static readonly ObservableGauge<double> PrefetchPrecision = Meter.CreateObservableGauge(
        "khonsu.prefetch.precision",
        () => PrefetchModels.Where(m => m.Key.Precision is not null).Select(m => new Measurement<double>(m.Key.Precision!.Value)),
        "1",
        "Share of prefetched reads the application consumed.");

    /// <summary>Each live model's recall: reads served from a prefetch over the reads the application ran.</summary>
    internal static readonly ObservableGauge<double> PrefetchRecall = Meter.CreateObservableGauge(
        "khonsu.prefetch.recall",
        () => PrefetchModels.Where(m => m.Key.Recall is not null).Select(m => new Measurement<double>(m.Key.Recall!.Value)),
        "1",
        "Share of the application's reads served from a prefetch.");

    internal static void Track(Prefetch.FollowUpModel model) => PrefetchModels.AddOrUpdate(model, null);

    private sealed record LagSource(string Backend, Func<long> Lag);
}
