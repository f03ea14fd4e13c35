using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Engine.Tests.Log;

public sealed class EmbeddedCommitLogTests : IDisposable
{
    private static readonly DateTimeOffset DecidedAt = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset StartedAt = new(2026, 11, 21, 9, 59, 58, 500, TimeSpan.Zero);
    private static readonly DateTimeOffset EndedAt = new(2026, 11, 21, 10, 0, 1, TimeSpan.Zero);

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
    public async Task An_appended_commit_is_the_transactions_decision()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var commit = Record(LogRecordKind.Commit);

        var appended = await log.AppendAsync(commit);
        var decision = await log.GetDecisionAsync(commit.TransactionId);

        Assert.Equal(LogRecordKind.Commit, appended.Decision);
        Assert.NotNull(decision);
        Assert.Equal(appended.Position, decision.Position);
        Assert.Equal(commit.TransactionId, decision.Record.TransactionId);
        Assert.Equal(["ledger", "shop"], decision.Record.Participants.Select(p => p.Participant));
        Assert.Equal(2, decision.Record.Participants[0].Writes.Count);
        Assert.Null(await log.GetDecisionAsync(TransactionId.New()));
    }

    [Fact]
    public async Task The_first_decision_in_log_order_wins()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();

        var abort = await log.AppendAsync(Record(LogRecordKind.Abort, id) with { Reason = "lease ran out" });
        var lateCommit = await log.AppendAsync(Record(LogRecordKind.Commit, id));

        Assert.Equal(LogRecordKind.Abort, abort.Decision);
        Assert.Equal(LogRecordKind.Abort, lateCommit.Decision);
        Assert.True(lateCommit.Position.Value > abort.Position.Value);
        Assert.Equal(abort.Position, (await log.GetDecisionAsync(id))!.Position);
        Assert.Equal([["ledger", "ABORTED", "ABORT"], ["shop", "ABORTED", "ABORT"]], TransactionLog(id, "participant, status, decision"));
    }

    [Fact]
    public async Task A_late_abort_does_not_overturn_a_commit()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();

        var commit = await log.AppendAsync(Record(LogRecordKind.Commit, id));
        var lateAbort = await log.AppendAsync(Record(LogRecordKind.Abort, id, participants: []) with { Reason = "sweeper" });

        Assert.Equal(LogRecordKind.Commit, lateAbort.Decision);
        Assert.Equal(LogRecordKind.Commit, (await log.GetDecisionAsync(id))!.Record.Kind);
        Assert.Equal([commit.Position], (await ToListAsync(log.ReadUnfinishedAsync())).Select(r => r.Position));
        Assert.Equal([["ledger", "PREPARED", null], ["shop", "PREPARED", null]], TransactionLog(id, "participant, status, abort_reason"));
    }

    [Fact]
    public async Task Decisions_racing_in_one_batch_agree_on_the_first()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();

        var results = await Task.WhenAll(log.AppendAsync(Record(LogRecordKind.Commit, id)).AsTask(), log.AppendAsync(Record(LogRecordKind.Abort, id)).AsTask());

        var first = (await log.GetDecisionAsync(id))!;
        Assert.Equal(results.Min(r => r.Position), first.Position);
        Assert.All(results, r => Assert.Equal(first.Record.Kind, r.Decision));
    }

    [Fact]
    public async Task An_end_record_reports_the_decision_and_an_end_without_one_reports_none()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();
        await log.AppendAsync(Record(LogRecordKind.Commit, id));

        var end = await log.AppendAsync(Record(LogRecordKind.End, id));
        var orphanEnd = await log.AppendAsync(Record(LogRecordKind.End));

        Assert.Equal(LogRecordKind.Commit, end.Decision);
        Assert.Null(orphanEnd.Decision);
    }

    [Fact]
    public async Task Unfinished_lists_each_first_decision_without_an_end_in_log_order()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var (ended, open, abortedThenCommitted, endedBeforeDecided, openAbort) = (TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New());
        await log.AppendAsync(Record(LogRecordKind.Commit, ended));
        var openCommit = await log.AppendAsync(Record(LogRecordKind.Commit, open));
        var firstAbort = await log.AppendAsync(Record(LogRecordKind.Abort, abortedThenCommitted));
        await log.AppendAsync(Record(LogRecordKind.Commit, abortedThenCommitted));
        await log.AppendAsync(Record(LogRecordKind.End, ended));
        await log.AppendAsync(Record(LogRecordKind.End, endedBeforeDecided));
        await log.AppendAsync(Record(LogRecordKind.Abort, endedBeforeDecided));
        var lastAbort = await log.AppendAsync(Record(LogRecordKind.Abort, openAbort));

        var unfinished = await ToListAsync(log.ReadUnfinishedAsync());

        Assert.Equal([openCommit.Position, firstAbort.Position, lastAbort.Position], unfinished.Select(r => r.Position));
        Assert.Equal([LogRecordKind.Commit, LogRecordKind.Abort, LogRecordKind.Abort], unfinished.Select(r => r.Record.Kind));
        Assert.Equal([open, abortedThenCommitted, openAbort], unfinished.Select(r => r.Record.TransactionId));
    }

    [Fact]
    public async Task Reads_return_every_record_in_log_order_across_pages()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var count = (2 * LogReader.PageSize) + 10;
        var appended = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => log.AppendAsync(Record(LogRecordKind.Commit)).AsTask()));
        var positions = appended.Select(a => a.Position).Order().ToList();

        var all = await ToListAsync(log.ReadFromAsync(LogPosition.Start));
        var tail = await ToListAsync(log.ReadFromAsync(positions[300]));
        var unfinished = await ToListAsync(log.ReadUnfinishedAsync());

        Assert.Equal(positions, all.Select(r => r.Position));
        Assert.Equal(positions.Skip(300), tail.Select(r => r.Position));
        Assert.Equal(positions, unfinished.Select(r => r.Position));
        Assert.Empty(await ToListAsync(log.ReadFromAsync(new LogPosition(positions[^1].Value + 1))));
    }

    [Fact]
    public async Task Transaction_log_follows_a_commit_through_a_note_and_its_end_as_a_DBA_sees_it()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();
        const string columns = "participant, status, decision, node_id, operation, started_at, decided_at, finished_at, abort_reason, rows_written, log_position";

        var commit = await log.AppendAsync(Record(LogRecordKind.Commit, id));
        var position = commit.Position.ToString();
        Assert.Equal(
            [
                ["ledger", "PREPARED", "COMMIT", "node-1", "UPDATE accounts", "2026-11-21T09:59:58.5000000Z", "2026-11-21T10:00:00.0000000Z", null, null, "2", position],
                ["shop", "PREPARED", "COMMIT", "node-1", "UPDATE accounts", "2026-11-21T09:59:58.5000000Z", "2026-11-21T10:00:00.0000000Z", null, null, "0", position],
            ],
            TransactionLog(id, columns));

        await log.NoteParticipantStatusAsync(id, "shop", ParticipantStatus.InDoubt, "connection reset");
        Assert.Equal([["ledger", "PREPARED", null], ["shop", "IN_DOUBT", "connection reset"]], TransactionLog(id, "participant, status, abort_reason"));

        await log.AppendAsync(Record(LogRecordKind.End, id) with { Timestamp = EndedAt });
        Assert.Equal(
            [
                ["ledger", "COMMITTED", "COMMIT", "2026-11-21T10:00:01.0000000Z", null],
                ["shop", "COMMITTED", "COMMIT", "2026-11-21T10:00:01.0000000Z", null],
            ],
            TransactionLog(id, "participant, status, decision, finished_at, abort_reason"));
    }

    [Fact]
    public async Task Transaction_log_shows_an_abort_with_its_reason_and_a_star_when_no_participant_is_named()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var (named, unnamed) = (TransactionId.New(), TransactionId.New());

        await log.AppendAsync(Record(LogRecordKind.Abort, named, [new ParticipantVote("ledger", false, [])]) with { Reason = "SerializationConflictException: accounts 7" });
        await log.AppendAsync(Record(LogRecordKind.Abort, unnamed, participants: []) with { Reason = "commit record could not be confirmed" });

        const string columns = "participant, status, decision, decided_at, finished_at, abort_reason, rows_written";
        Assert.Equal(
            [["ledger", "ABORTED", "ABORT", "2026-11-21T10:00:00.0000000Z", "2026-11-21T10:00:00.0000000Z", "SerializationConflictException: accounts 7", null]],
            TransactionLog(named, columns));
        Assert.Equal(
            [["*", "ABORTED", "ABORT", "2026-11-21T10:00:00.0000000Z", "2026-11-21T10:00:00.0000000Z", "commit record could not be confirmed", null]],
            TransactionLog(unnamed, columns));

        await log.AppendAsync(Record(LogRecordKind.End, unnamed, participants: []) with { Timestamp = EndedAt });
        Assert.Equal([["*", "ABORTED", "2026-11-21T10:00:01.0000000Z", "commit record could not be confirmed"]], TransactionLog(unnamed, "participant, status, finished_at, abort_reason"));
    }

    [Fact]
    public async Task A_note_about_a_transaction_the_log_has_not_seen_adds_its_row()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();

        await log.NoteParticipantStatusAsync(id, "shop", ParticipantStatus.InDoubt, "backend 'shop' is not in this connection string");

        Assert.Equal([["shop", "IN_DOUBT", null, "backend 'shop' is not in this connection string"]], TransactionLog(id, "participant, status, decision, abort_reason"));
        Assert.Empty(await ToListAsync(log.ReadFromAsync(LogPosition.Start)));
    }

    [Fact]
    public async Task The_file_is_in_WAL_mode_with_its_layout_version_and_readable_columns()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var commit = Record(LogRecordKind.Commit);
        await log.AppendAsync(commit);

        Assert.Equal("wal", LogFile.Scalar(LogPath, "PRAGMA journal_mode"));
        Assert.Equal("1", LogFile.Scalar(LogPath, "SELECT format_version FROM khonsu_log_meta"));
        Assert.Equal(
            [[commit.TransactionId.ToString(), "COMMIT", "node-1", "2026-11-21T10:00:00.0000000Z", "1"]],
            LogFile.Query(LogPath, "SELECT tx_id, kind, node_id, written_at, hex(substr(record, 1, 1)) = '01' FROM khonsu_log"));
    }

    [Fact]
    public async Task Records_survive_closing_and_reopening()
    {
        var (committed, open) = (Record(LogRecordKind.Commit), Record(LogRecordKind.Commit));
        LogPosition last;
        await using (var log = EmbeddedCommitLog.Open(LogPath))
        {
            await log.AppendAsync(committed);
            await log.AppendAsync(open);
            last = (await log.AppendAsync(Record(LogRecordKind.End, committed.TransactionId))).Position;
        }

        await using var reopened = EmbeddedCommitLog.Open(LogPath);

        var decision = await reopened.GetDecisionAsync(committed.TransactionId);
        Assert.Equal(committed.Participants.Select(p => p.Participant), decision!.Record.Participants.Select(p => p.Participant));
        Assert.Equal([open.TransactionId], (await ToListAsync(reopened.ReadUnfinishedAsync())).Select(r => r.Record.TransactionId));
        Assert.Equal(3, (await ToListAsync(reopened.ReadFromAsync(LogPosition.Start))).Count);
        Assert.True((await reopened.AppendAsync(Record(LogRecordKind.Commit))).Position.Value > last.Value);
    }

    [Fact]
    public async Task A_file_of_another_layout_version_is_refused()
    {
        await using (EmbeddedCommitLog.Open(LogPath))
        {
        }

        LogFile.Execute(LogPath, "UPDATE khonsu_log_meta SET format_version = 2");

        var error = Assert.Throws<InvalidDataException>(() => EmbeddedCommitLog.Open(LogPath));
        Assert.Contains("format version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_open_of_a_held_log_is_refused_until_the_holder_closes_it()
    {
        var first = EmbeddedCommitLog.Open(LogPath, "web-1");

        var refused = Assert.Throws<CommitLogInUseException>(() => EmbeddedCommitLog.Open(LogPath, "web-2"));
        Assert.True(refused.InThisProcess);
        Assert.Equal(LogPath, refused.LogPath);
        await first.DisposeAsync();

        await using var second = EmbeddedCommitLog.Open(LogPath, "web-2");
        Assert.True(second.Exclusive);
    }

    [Fact]
    public async Task The_log_keeps_the_id_it_got_when_it_was_created_and_notes_its_holder()
    {
        string id;
        await using (var log = EmbeddedCommitLog.Open(LogPath, "web-1"))
        {
            id = log.Identity.Id;
            Assert.True(Guid.TryParse(id, out _), id);
            Assert.Equal($"embedded log {LogPath}", log.Identity.Description);
        }

        await using var reopened = EmbeddedCommitLog.Open(LogPath, "web-2");
        Assert.Equal(id, reopened.Identity.Id);
        Assert.Equal(id, LogFile.Scalar(LogPath, "SELECT log_id FROM khonsu_log_meta"));
        Assert.StartsWith($"web-2 (process {Environment.ProcessId} on ", LogFile.Scalar(LogPath, "SELECT held_by FROM khonsu_log_meta"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_made_by_a_build_before_log_ids_gets_one_at_its_next_open()
    {
        await using (EmbeddedCommitLog.Open(LogPath))
        {
        }

        // The meta table as format version 1 first shipped it: one column.
        LogFile.Execute(LogPath, "DROP TABLE khonsu_log_meta; CREATE TABLE khonsu_log_meta (format_version INTEGER NOT NULL); INSERT INTO khonsu_log_meta VALUES (1)");

        await using var log = EmbeddedCommitLog.Open(LogPath);
        Assert.True(Guid.TryParse(log.Identity.Id, out _));
        Assert.Equal("1", LogFile.Scalar(LogPath, "SELECT format_version FROM khonsu_log_meta"));
    }

    [Fact]
    public async Task A_read_only_open_takes_no_lock_and_refuses_to_write()
    {
        await using var holder = EmbeddedCommitLog.Open(LogPath, "web-1");
        var commit = Record(LogRecordKind.Commit);
        await holder.AppendAsync(commit);

        await using var reader = EmbeddedCommitLog.OpenReadOnly(LogPath);

        Assert.False(reader.Exclusive);
        Assert.Equal(holder.Identity, reader.Identity);
        Assert.Equal(LogRecordKind.Commit, (await reader.GetDecisionAsync(commit.TransactionId))?.Record.Kind);
        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.AppendAsync(Record(LogRecordKind.Commit)).AsTask());
    }

    [Fact]
    public async Task An_abort_that_ends_its_transaction_is_not_left_for_recovery()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var rolledBack = Record(LogRecordKind.Abort) with { EndsTransaction = true, Reason = "conflict" };
        var stillPrepared = Record(LogRecordKind.Abort) with { Reason = "a participant could not roll back" };

        await log.AppendAsync(rolledBack);
        await log.AppendAsync(stillPrepared);

        Assert.Equal([stillPrepared.TransactionId], (await ToListAsync(log.ReadUnfinishedAsync())).Select(r => r.Record.TransactionId));
        Assert.Equal([["ledger", "ABORTED"], ["shop", "ABORTED"]], TransactionLog(rolledBack.TransactionId, "participant, status"));
        Assert.Equal(LogRecordKind.Abort, (await log.GetDecisionAsync(rolledBack.TransactionId))?.Record.Kind);
    }

    [Fact]
    public async Task Concurrent_appends_share_syncs()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        const int appends = 200;
        var before = log.SyncCount;

        // Another process's write lock keeps the writer from committing until every append is
        // queued, which makes the batching certain instead of likely.
        Task<AppendResult>[] pending;
        using (LogFile.HoldWriteLock(LogPath))
        {
            pending = Enumerable.Range(0, appends).Select(_ => log.AppendAsync(Record(LogRecordKind.Commit)).AsTask()).ToArray();
        }

        var results = await Task.WhenAll(pending);

        var syncs = log.SyncCount - before;
        Assert.True(syncs <= 2, $"{syncs} syncs for {appends} appends: group commit did not batch");
        Assert.Equal(results.Select(r => r.Position).Order(), results.Select(r => r.Position));
        Assert.All(results, r => Assert.Equal(LogRecordKind.Commit, r.Decision));
    }

    [Fact]
    public async Task An_append_that_finds_the_log_idle_is_written_by_its_caller_before_the_call_returns()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var before = log.SyncCount;
        var record = Record(LogRecordKind.Commit);

        var append = log.AppendAsync(record);

        // No hand-over to a writer thread and back: the caller wrote and synced it itself.
        Assert.True(append.IsCompleted, "an append to an idle log waited for another thread");
        Assert.Equal(LogRecordKind.Commit, (await append).Decision);
        Assert.Equal(1, log.SyncCount - before);
        Assert.NotNull(await log.GetDecisionAsync(record.TransactionId));
    }

    [Fact]
    public async Task A_failed_batch_fails_its_callers_and_the_writer_goes_on()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath, "node-1", busyTimeout: TimeSpan.FromMilliseconds(20));
        var failed = Record(LogRecordKind.Commit);

        using (LogFile.HoldWriteLock(LogPath))
        {
            var error = await Assert.ThrowsAsync<IOException>(() => log.AppendAsync(failed).AsTask());
            Assert.Contains("locked", error.Message, StringComparison.Ordinal);
        }

        var next = await log.AppendAsync(Record(LogRecordKind.Commit));

        Assert.Equal(LogRecordKind.Commit, next.Decision);
        Assert.Null(await log.GetDecisionAsync(failed.TransactionId));
    }

    [Fact]
    public async Task A_record_the_codec_refuses_fails_only_its_caller()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var image = new RowImage(["id", "when"], [1L, DateTime.UtcNow]);
        var refused = Record(LogRecordKind.Commit, participants: [new ParticipantVote("ledger", true, [new RowWrite("t", "1", WriteKind.Insert, null, 1, image)])]);

        var refusal = log.AppendAsync(refused).AsTask();
        var accepted = log.AppendAsync(Record(LogRecordKind.Commit)).AsTask();

        await Assert.ThrowsAsync<ArgumentException>(() => refusal);
        Assert.Equal(LogRecordKind.Commit, (await accepted).Decision);
    }

    [Fact]
    public async Task A_cancelled_wait_ends_at_once_even_while_the_writer_cannot_sync()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var record = Record(LogRecordKind.Commit);
        using var cancellation = new CancellationTokenSource();

        using (LogFile.HoldWriteLock(LogPath))
        {
            var append = log.AppendAsync(record, cancellation.Token).AsTask();
            await cancellation.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => append);
        }

        // The writer may or may not have taken the record before the wait was cancelled; the log says which.
        var next = await log.AppendAsync(Record(LogRecordKind.Commit));
        var decision = await log.GetDecisionAsync(record.TransactionId);
        var all = await ToListAsync(log.ReadFromAsync(LogPosition.Start));
        Assert.Equal(LogRecordKind.Commit, next.Decision);
        Assert.Equal(decision is null ? 1 : 2, all.Count);
    }

    [Fact]
    public async Task An_append_cancelled_before_it_starts_is_not_written()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var record = Record(LogRecordKind.Commit);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => log.AppendAsync(record, new CancellationToken(canceled: true)).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => log.GetDecisionAsync(record.TransactionId, new CancellationToken(canceled: true)).AsTask());

        Assert.Null(await log.GetDecisionAsync(record.TransactionId));
    }

    [Fact]
    public async Task Reads_do_not_wait_for_the_writer()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var earlier = Record(LogRecordKind.Commit);
        await log.AppendAsync(earlier);

        using (LogFile.HoldWriteLock(LogPath))
        {
            var stuck = log.AppendAsync(Record(LogRecordKind.Commit)).AsTask();

            Assert.NotNull(await log.GetDecisionAsync(earlier.TransactionId));
            Assert.Single(await ToListAsync(log.ReadUnfinishedAsync()));
            Assert.False(stuck.IsCompleted);
        }
    }

    [Fact]
    public async Task Dispose_writes_what_is_queued_then_refuses_more()
    {
        var log = EmbeddedCommitLog.Open(LogPath);
        var queued = Enumerable.Range(0, 50).Select(_ => log.AppendAsync(Record(LogRecordKind.Commit)).AsTask()).ToArray();

        await log.DisposeAsync();

        Assert.Equal(50, (await Task.WhenAll(queued)).Select(r => r.Position).Distinct().Count());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.AppendAsync(Record(LogRecordKind.Commit)).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.GetDecisionAsync(TransactionId.New()).AsTask());
        await log.DisposeAsync();
        await using var reopened = EmbeddedCommitLog.Open(LogPath);
        Assert.Equal(50, (await ToListAsync(reopened.ReadFromAsync(LogPosition.Start))).Count);
    }

    private static LogRecord Record(LogRecordKind kind, TransactionId? id = null, IReadOnlyList<ParticipantVote>? participants = null) => new()
    {
        Kind = kind,
        TransactionId = id ?? TransactionId.New(),
        NodeId = "node-1",
        Timestamp = DecidedAt,
        StartedAt = StartedAt,
        Operation = "UPDATE accounts",
        Participants = participants ??
        [
            new ParticipantVote("ledger", true,
            [
                new RowWrite("accounts", "1", WriteKind.Update, 1, 2, new RowImage(["id", "balance"], [1L, 10.5])),
                new RowWrite("accounts", "2", WriteKind.Delete, 4, null, new RowImage(["id"], [2L])),
            ]),
            new ParticipantVote("shop", false, []),
        ],
    };

    private List<string?[]> TransactionLog(TransactionId id, string columns)
        => LogFile.Query(LogPath, $"SELECT {columns} FROM transaction_log WHERE tx_id = '{id}' ORDER BY participant");

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
