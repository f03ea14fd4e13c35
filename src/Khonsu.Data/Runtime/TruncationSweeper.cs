using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Runtime;

/// <summary>
/// Keeps what the log and the backends hold bounded: deletes the embedded log's records of ended
/// transactions, transaction_log rows past <c>TransactionLogRetention</c>, and applied-markers recovery
/// can no longer need. A loop of its own, every <c>RecoveryInterval</c>, so a long pass never delays
/// recovery; every deletion is a small batch (a millisecond or so of the log's writer, a short local
/// transaction on a backend), so commits wait for at most one batch. (A Kafka log bounds what it keeps
/// by itself, deterministically in every process: see docs/kafka-log.md.)
/// </summary>
/// <remarks>
/// Applied-markers: recovery reads a transaction's marker only while the log holds its commit
/// decision without an end record (to know whether a participant already committed). The rule
/// here needs no clock: list the markers first, then read the unfinished decisions, then delete the
/// listed markers whose transaction is not among them. A marker is committed on its backend only
/// after its transaction's decision is in the log (PostgreSQL: at COMMIT PREPARED, after the commit
/// record; SQLite: in the local commit after it, or in recovery's redo), or the transaction
/// committed in one phase and has no decision at all. So a marker seen by the listing belongs to a
/// decision already in the log when the unfinished set was read: either it was in that set (kept)
/// or it had its end record, and an ended transaction is never recovered again. A timestamp rule
/// ("markers written before t1") is not enough: PostgreSQL's applied_at is the local transaction's
/// start, before PREPARE and before the decision.
/// </remarks>
internal sealed class TruncationSweeper : IAsyncDisposable
{
    /// <summary>
    /// How long the embedded log keeps an ended transaction's records after its end record: for a
    /// recovery pass that listed it prepared just before it finished, and for
    /// <c>khonsu log tail --follow</c> and <c>log show</c>, which read the file beside the application.
    /// </summary>
    public static readonly TimeSpan EndedRecordGrace = TimeSpan.FromMinutes(1);

    private const int MarkerPage = 1000;
    private const int MarkersPerPass = 50_000;
    private const int MarkerDeleteBatch = 200;

    private readonly ICommitLog _log;
    private readonly IReadOnlyList<KhonsuBackend> _backends;
    private readonly Func<TransactionId, bool> _inFlight;
    private readonly TimeSpan? _retention;
    private readonly TransactionLogMaterializer? _materialized;
    private readonly TimeSpan _interval;
    private readonly Diagnostics.KhonsuLog _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="inFlight">This process's coordinators still committing: their records are kept (see <see cref="Engine.Log.EmbeddedCommitLog.TruncateEndedAsync"/>).</param>
    /// <param name="retention">How long transaction_log keeps finished transactions; null for ever.</param>
    /// <param name="materialized">The materialised transaction_log of a Kafka log, if any.</param>
    /// <param name="interval">Between passes; zero runs none in the background.</param>
    public TruncationSweeper(
        ICommitLog log,
        IReadOnlyList<KhonsuBackend> backends,
        Func<TransactionId, bool> inFlight,
        TimeSpan? retention,
        TransactionLogMaterializer? materialized,
        TimeSpan interval,
        Diagnostics.KhonsuLog logger)
    {
        _log = log;
        _backends = backends;
        _inFlight = inFlight;
        _retention = retention;
        _materialized = materialized;
        _interval = interval;
        _logger = logger;
    }

    /// <summary>The clock the cutoffs are taken from (tests move it forward).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    public void Start()
    {
        if (_interval > TimeSpan.Zero)
        {
            _loop = RunAsync(_stop.Token);
        }
    }

    /// <summary>One pass over everything; passes never overlap.</summary>
    public async ValueTask<TruncationReport> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var now = Time.GetUtcNow();

            // The order matters for markers: every listing before the read of the unfinished decisions.
            var listed = new List<(KhonsuBackend Backend, IReadOnlyList<AppliedMarker> Markers)>();
            foreach (var backend in _backends)
            {
                if (backend.AppliedMarkers is { } markers)
                {
                    listed.Add((backend, await ListMarkersAsync(markers, cancellationToken).ConfigureAwait(false)));
                }
            }

            var unfinished = await UnfinishedAsync(cancellationToken).ConfigureAwait(false);
            long markersDeleted = 0;
            foreach (var (backend, markers) in listed)
            {
                markersDeleted += await DeleteMarkersAsync(backend, markers, unfinished, cancellationToken).ConfigureAwait(false);
            }

            long records = 0;
            long rows = 0;
            if (_log is EmbeddedCommitLog embedded)
            {
                records = await embedded.TruncateEndedAsync(now - EndedRecordGrace, _inFlight, cancellationToken).ConfigureAwait(false);
                if (Cutoff(now) is { } finishedBefore)
                {
                    rows = await embedded.DeleteTransactionLogHistoryAsync(finishedBefore, cancellationToken).ConfigureAwait(false);
                }
            }
            else if (_materialized is not null && Cutoff(now) is { } finishedBefore)
            {
                rows = await _materialized.DeleteHistoryAsync(finishedBefore, unfinished, cancellationToken).ConfigureAwait(false);
            }

            if (records + rows + markersDeleted > 0)
            {
                _logger.Truncated(records, rows, markersDeleted, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return new TruncationReport(records, rows, markersDeleted);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private DateTimeOffset? Cutoff(DateTimeOffset now) => _retention is { } kept ? now - kept : null;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await RunOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // A backend or the log is unreachable: the next tick tries again.
                _logger.TruncationFailed(error.GetType().Name + ": " + error.Message.Split('\n')[0]);
            }
        }
    }

    /// <summary>The markers committed now, oldest first (ids sort by start), at most <see cref="MarkersPerPass"/>.</summary>
    private static async ValueTask<IReadOnlyList<AppliedMarker>> ListMarkersAsync(AppliedMarkers markers, CancellationToken cancellationToken)
    {
        var all = new List<AppliedMarker>();
        string? after = null;
        while (all.Count < MarkersPerPass)
        {
            var page = await markers.ListAsync(after, MarkerPage, cancellationToken).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Count < MarkerPage)
            {
                break;
            }

            after = page[^1].Key;
        }

        return all;
    }

    private async ValueTask<HashSet<TransactionId>> UnfinishedAsync(CancellationToken cancellationToken)
    {
        var unfinished = new HashSet<TransactionId>();
        await foreach (var logged in _log.ReadUnfinishedAsync(cancellationToken).ConfigureAwait(false))
        {
            unfinished.Add(logged.Record.TransactionId);
        }

        return unfinished;
    }

    /// <summary>Deletes the listed markers of transactions not in <paramref name="unfinished"/>; a key that is no Khonsu id is left alone.</summary>
    private static async ValueTask<long> DeleteMarkersAsync(KhonsuBackend backend, IReadOnlyList<AppliedMarker> listed, HashSet<TransactionId> unfinished, CancellationToken cancellationToken)
    {
        var deletable = listed.Where(m => m.TransactionId is { } id && !unfinished.Contains(id)).Select(m => m.Key).ToList();
        long deleted = 0;
        for (var i = 0; i < deletable.Count; i += MarkerDeleteBatch)
        {
            var batch = deletable.GetRange(i, Math.Min(MarkerDeleteBatch, deletable.Count - i));
            var (count, held) = await backend.AppliedMarkers!.DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
            KhonsuTelemetry.RecordTruncation(KhonsuTelemetry.AppliedMarkers, count, held, backend.Name);
            deleted += count;
        }

        return deleted;
    }
}
