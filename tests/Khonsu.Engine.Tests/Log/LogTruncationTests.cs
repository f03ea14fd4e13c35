using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Log;

/// <summary>
/// The embedded log deletes what recovery and the DBA are done with: the records of transactions
/// that ended, and transaction_log rows past the retention. Everything a transaction recovery has
/// not finished needs is kept, whatever its age.
/// </summary>
public sealed class LogTruncationTests : IDisposable
{
    private static readonly DateTimeOffset Long = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "khonsu-log-tests", Guid.NewGuid().ToString("N"));

    private string LogPath => Path.Combine(_directory, "commit-log.db");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Records_of_ended_transactions_go_and_every_decision_recovery_needs_stays()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var committed = await EndedAsync(log, LogRecordKind.Commit, Long);
        var aborted = await EndedAsync(log, LogRecordKind.Abort, Long);
        var unfinished = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Commit, unfinished, Long)); // no end record: recovery's
        var unfinishedAbort = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Abort, unfinishedAbort, Long));
        var recent = await EndedAsync(log, LogRecordKind.Commit, Now.AddSeconds(-30)); // ended within the grace

        var deleted = await log.TruncateEndedAsync(Now.AddMinutes(-1), _ => false);

        Assert.Equal(4, deleted); // the commit, abort and end records of the two old ended ones
        Assert.Null(await log.GetDecisionAsync(committed));
        Assert.Null(await log.GetDecisionAsync(aborted));
        Assert.Equal(LogRecordKind.Commit, (await log.GetDecisionAsync(unfinished))?.Record.Kind);
        Assert.Equal(LogRecordKind.Commit, (await log.GetDecisionAsync(recent))?.Record.Kind);
        Assert.Equal([unfinished, unfinishedAbort], (await ToListAsync(log.ReadUnfinishedAsync())).Select(r => r.Record.TransactionId));
        Assert.Equal(new LogPosition(4), await log.TruncatedThroughAsync()); // the abort's end record

        // Readers from before the truncation learn it; from after it they read what is left.
        var gap = await Assert.ThrowsAsync<CommitLogTruncatedException>(() => ToListAsync(log.ReadFromAsync(LogPosition.Start)));
        Assert.Equal((0L, 5L), (gap.FirstMissing, gap.FirstAvailable));
        Assert.Equal([5L, 6L, 7L, 8L], (await ToListAsync(log.ReadFromAsync(new LogPosition(5)))).Select(r => r.Position.Value));

        // Once recovery ended them, they go as well (a minute later, with the one that was too recent).
        await log.AppendAsync(Record(LogRecordKind.End, unfinished, Now));
        await log.AppendAsync(Record(LogRecordKind.End, unfinishedAbort, Now));
        Assert.Equal(6, await log.TruncateEndedAsync(Now.AddMinutes(1), _ => false));
        Assert.Equal(["0"], LogFile.Query(LogPath, "SELECT count(*) FROM khonsu_log").Select(r => r[0]));
        Assert.Empty(await ToListAsync(log.ReadUnfinishedAsync()));
    }

    [Fact]
    public async Task An_abort_that_rolled_everything_back_ends_its_transaction_and_goes_without_an_end_record()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var rolledBack = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Abort, rolledBack, Long) with { EndsTransaction = true, Reason = "write-write conflict" });
        var toRollBack = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Abort, toRollBack, Long) with { Reason = "prepared with no decision" }); // recovery's: a participant is still prepared

        Assert.Equal(1, await log.TruncateEndedAsync(Now, _ => false));

        Assert.Null(await log.GetDecisionAsync(rolledBack));
        Assert.Equal([toRollBack], (await ToListAsync(log.ReadUnfinishedAsync())).Select(r => r.Record.TransactionId));
    }

    [Fact]
    public async Task A_transaction_whose_coordinator_is_still_in_flight_keeps_its_records()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var inFlight = await EndedAsync(log, LogRecordKind.Abort, Long);
        var other = await EndedAsync(log, LogRecordKind.Commit, Long);

        await log.TruncateEndedAsync(Now, id => id == inFlight);

        // Its abort stays the first decision: a commit record its coordinator appends late loses.
        Assert.Null(await log.GetDecisionAsync(other));
        var late = await log.AppendAsync(Record(LogRecordKind.Commit, inFlight, Now));
        Assert.Equal(LogRecordKind.Abort, late.Decision);
    }

    [Fact]
    public async Task A_backlog_is_deleted_in_batches_while_appends_go_on()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        const int Transactions = 1500; // 3,000 records: two scans and eight batches of deletes
        for (var i = 0; i < Transactions; i += 100)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => EndedAsync(log, LogRecordKind.Commit, Long)));
        }

        var truncating = log.TruncateEndedAsync(Now, _ => false).AsTask();
        var appended = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => log.AppendAsync(Record(LogRecordKind.Commit, Id(Now), Now)).AsTask()));
        var deleted = await truncating;

        Assert.Equal(2 * Transactions, deleted);
        Assert.All(appended, result => Assert.Equal(LogRecordKind.Commit, result.Decision));
        Assert.Equal(["50"], LogFile.Query(LogPath, "SELECT count(*) FROM khonsu_log").Select(r => r[0]));
    }

    [Fact]
    public async Task Transaction_log_keeps_rows_inside_the_retention_and_never_those_recovery_has_not_finished()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var retention = TimeSpan.FromDays(7);
        var old = await EndedAsync(log, LogRecordKind.Commit, Now - retention - TimeSpan.FromHours(1));
        var oldAbort = await EndedAsync(log, LogRecordKind.Abort, Now - retention - TimeSpan.FromHours(1));
        var inside = await EndedAsync(log, LogRecordKind.Commit, Now - retention + TimeSpan.FromHours(1));
        var startedBeforeFinishedInside = Id(Now - retention - TimeSpan.FromHours(2));
        await log.AppendAsync(Record(LogRecordKind.Commit, startedBeforeFinishedInside, Now - retention - TimeSpan.FromHours(2)));
        await log.AppendAsync(Record(LogRecordKind.End, startedBeforeFinishedInside, Now - retention + TimeSpan.FromMinutes(1)));
        var prepared = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Commit, prepared, Long)); // decided, never finished
        var abortNotEnded = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Abort, abortNotEnded, Long)); // finished_at is set, but recovery has it
        var inDoubt = Id(Long);
        await log.AppendAsync(Record(LogRecordKind.Commit, inDoubt, Long));
        await log.NoteParticipantStatusAsync(inDoubt, "ledger", ParticipantStatus.InDoubt, "a row changed after the crash");

        var deleted = await log.DeleteTransactionLogHistoryAsync(Now - retention);

        Assert.Equal(4, deleted); // two participants each of the two old ones
        Assert.Equal(
            new[] { inside, startedBeforeFinishedInside, prepared, abortNotEnded, inDoubt }.Select(id => id.ToString()).Order(StringComparer.Ordinal),
            LogFile.Query(LogPath, "SELECT DISTINCT tx_id FROM transaction_log ORDER BY tx_id").Select(r => r[0]));
        Assert.Empty(LogFile.Query(LogPath, $"SELECT 1 FROM transaction_log WHERE tx_id IN ('{old}', '{oldAbort}')"));
    }

    private static TransactionId Id(DateTimeOffset createdAt) => new(Guid.CreateVersion7(createdAt));

    /// <summary>A transaction created at <paramref name="at"/>, decided and ended then.</summary>
    private static async Task<TransactionId> EndedAsync(EmbeddedCommitLog log, LogRecordKind decision, DateTimeOffset at)
    {
        var id = Id(at);
        await log.AppendAsync(Record(decision, id, at));
        await log.AppendAsync(Record(LogRecordKind.End, id, at));
        return id;
    }

    private static LogRecord Record(LogRecordKind kind, TransactionId id, DateTimeOffset at) => new()
    {
        Kind = kind,
        TransactionId = id,
        NodeId = "node-1",
        Timestamp = at,
        StartedAt = at,
        Participants =
        [
            new ParticipantVote("ledger", true, [new RowWrite("accounts", "1", WriteKind.Update, 1, 2, new RowImage(["id", "balance"], [1L, 10L]))]),
            new ParticipantVote("shop", false, []),
        ],
    };

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
