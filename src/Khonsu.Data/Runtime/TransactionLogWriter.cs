using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine.Log;
using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Data.Runtime;

/// <summary>
/// Applies log records to a materialised transaction_log with the embedded log's rules (see
/// <see cref="TransactionLogView"/>): a transaction's first decision in log order shapes its rows,
/// a later decision changes nothing, an end record finishes the rows of a decision before it.
/// Every batch moves the progress row forward in the same local transaction as its rows, under a
/// lock that keeps other materialisers out, so a crash neither skips nor repeats a record; and
/// every statement is written so that applying a record again leaves the table as it was, so a
/// replay from offset 0 over an existing table ends with the same table.
/// </summary>
internal sealed class TransactionLogWriter(TransactionLogTables tables, string logName)
{
    /// <summary>The progress when none is stored: nothing applied.</summary>
    public const long NothingApplied = -1;

    private readonly string _readProgress = $"SELECT last_position FROM {tables.ProgressTable} WHERE log = @log";

    // Progress only moves forward, whatever a slower process tries to write.
    private readonly string _writeProgress = $"""
        INSERT INTO {tables.ProgressTable} AS p (log, last_position, updated_at) VALUES (@log, @position, @now)
        ON CONFLICT (log) DO UPDATE SET last_position = excluded.last_position, updated_at = excluded.updated_at
        WHERE p.last_position < excluded.last_position
        """;

    // A row of an earlier position is an earlier decision (or this one, applied before): it wins.
    private readonly string _firstDecision = $"SELECT min(log_position) FROM {tables.Table} WHERE tx_id = @tx";

    private readonly string _insertDecision = $"""
        INSERT INTO {tables.Table} (tx_id, participant, status, decision, node_id, operation, started_at, decided_at, finished_at, abort_reason, rows_written, log_position)
        VALUES (@tx, @participant, @status, @decision, @node, @operation, @started, @decided, @finished, @reason, @rows, @position)
        ON CONFLICT (tx_id, participant) DO NOTHING
        """;

    // Only rows of a decision logged before the end record; a note of trouble no longer applies to a finished commit.
    private readonly string _finish = $"""
        UPDATE {tables.Table}
        SET status = CASE decision WHEN '{LogText.Commit}' THEN '{LogText.Status(ParticipantStatus.Committed)}' ELSE '{LogText.Status(ParticipantStatus.Aborted)}' END,
            finished_at = @finished,
            abort_reason = CASE decision WHEN '{LogText.Commit}' THEN NULL ELSE abort_reason END
        WHERE tx_id = @tx AND log_position < @position
        """;

    // A note only marks a participant of a decision already applied and not finished since.
    private readonly string _noteInDoubt = $"""
        UPDATE {tables.Table} SET status = '{LogText.Status(ParticipantStatus.InDoubt)}', abort_reason = @reason
        WHERE tx_id = @tx AND participant = @participant AND finished_at IS NULL
        """;

    // tx_id is a UUIDv7: in key order the oldest transactions come first, and one that started
    // after the cutoff cannot have finished before it (see TransactionId.TextBefore).
    private readonly string _historyPage = $"SELECT DISTINCT tx_id FROM {tables.Table} WHERE tx_id > @after AND tx_id < @before ORDER BY tx_id LIMIT @limit";

    /// <summary>The last offset applied, as stored (<see cref="NothingApplied"/> when none).</summary>
    public async ValueTask<long> ReadProgressAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
        => await InnerCommands.ScalarAsync(connection, transaction, _readProgress, cancellationToken, ("log", logName)).ConfigureAwait(false) is { } last
            ? Convert.ToInt64(last, System.Globalization.CultureInfo.InvariantCulture)
            : NothingApplied;

    /// <summary>
    /// Applies the records (in log order) that lie after the stored progress, in one local
    /// transaction with the progress; returns the progress after it.
    /// </summary>
    public async ValueTask<long> ApplyAsync(DbConnection connection, IReadOnlyList<LoggedRecord> records, CancellationToken cancellationToken)
    {
        var transaction = await tables.BeginBatchAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            // Read under the lock: another process may have applied some of these meanwhile.
            var applied = await ReadProgressAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var last = records[^1].Position.Value;
            if (last <= applied)
            {
                return applied;
            }

            foreach (var logged in records)
            {
                if (logged.Position.Value <= applied)
                {
                    continue;
                }

                if (logged.Record.IsReadOnlyCertification)
                {
                    continue; // a read-only transaction: nothing was written, nothing for DBAs to finish
                }

                if (logged.Record.Kind == LogRecordKind.End)
                {
                    await FinishAsync(connection, transaction, logged, cancellationToken).ConfigureAwait(false);
                }
                else if (logged.Record.Kind == LogRecordKind.InDoubtNote)
                {
                    await NoteInDoubtAsync(connection, transaction, logged.Record, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await DecideAsync(connection, transaction, logged, cancellationToken).ConfigureAwait(false);
                }
            }

            await InnerCommands.ExecuteAsync(
                connection, transaction, _writeProgress, cancellationToken, ("log", logName), ("position", last), ("now", tables.Timestamp(DateTimeOffset.UtcNow))).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return last;
        }
    }

    /// <summary>
    /// Deletes the rows of up to <paramref name="maxTransactions"/> transactions after
    /// <paramref name="after"/> (tx_id order) whose rows all finished before <paramref name="finishedBefore"/>,
    /// none IN_DOUBT, and that the log has no unfinished decision for (<paramref name="unfinished"/>),
    /// in one local transaction under the materialisers' lock, so no batch applies records of them meanwhile.
    /// </summary>
    /// <returns>The last tx_id looked at, the rows deleted, and whether no transaction old enough is left after it.</returns>
    public async ValueTask<(string After, int Rows, bool Done)> DeleteFinishedAsync(
        DbConnection connection, string after, DateTimeOffset finishedBefore, IReadOnlySet<Engine.TransactionId> unfinished, int maxTransactions, CancellationToken cancellationToken)
    {
        var transaction = await tables.BeginBatchAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var page = await InnerCommands.QueryAsync(
                connection,
                transaction,
                _historyPage,
                reader => reader.GetString(0),
                cancellationToken,
                ("after", after),
                ("before", Engine.TransactionId.TextBefore(finishedBefore)),
                ("limit", maxTransactions)).ConfigureAwait(false);
            var candidates = page.Where(id => !Engine.TransactionId.TryParse(id, out var parsed) || !unfinished.Contains(parsed)).ToList();
            var deleted = 0;
            if (candidates.Count > 0)
            {
                var names = candidates.Select((_, i) => "@t" + i).ToList();
                var list = string.Join(", ", names);
                deleted = await InnerCommands.ExecuteAsync(
                    connection,
                    transaction,
                    $"""
                    DELETE FROM {tables.Table} WHERE tx_id IN ({list}) AND tx_id NOT IN (
                        SELECT tx_id FROM {tables.Table} WHERE tx_id IN ({list})
                        AND (finished_at IS NULL OR finished_at >= @cutoff OR status = '{LogText.Status(ParticipantStatus.InDoubt)}'))
                    """,
                    cancellationToken,
                    [.. candidates.Select((id, i) => (names[i], (object?)id)), ("cutoff", tables.Timestamp(finishedBefore))]).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (page.Count > 0 ? page[^1] : after, deleted, page.Count < maxTransactions);
        }
    }

    private async ValueTask DecideAsync(DbConnection connection, DbTransaction transaction, LoggedRecord logged, CancellationToken cancellationToken)
    {
        var (record, position) = (logged.Record, logged.Position.Value);
        var transactionId = record.TransactionId.ToString();
        var first = await InnerCommands.ScalarAsync(connection, transaction, _firstDecision, cancellationToken, ("tx", transactionId)).ConfigureAwait(false);
        if (first is not null && Convert.ToInt64(first, System.Globalization.CultureInfo.InvariantCulture) < position)
        {
            return;
        }

        var commit = record.Kind == LogRecordKind.Commit;
        var decidedAt = tables.Timestamp(record.Timestamp);
        IEnumerable<(string Participant, long? Rows)> participants = record.Participants.Count > 0
            ? record.Participants.Select(vote => (vote.Participant, Rows: (long?)vote.Writes.Count))
            : [(TransactionLogView.AnyParticipant, null)];
        foreach (var (participant, rows) in participants)
        {
            await InnerCommands.ExecuteAsync(
                connection,
                transaction,
                _insertDecision,
                cancellationToken,
                ("tx", transactionId),
                ("participant", participant),
                ("status", LogText.Status(commit ? ParticipantStatus.Prepared : ParticipantStatus.Aborted)),
                ("decision", LogText.Kind(record.Kind)),
                ("node", record.NodeId),
                ("operation", record.Operation),
                ("started", record.StartedAt is { } started ? tables.Timestamp(started) : null),
                ("decided", decidedAt),
                ("finished", commit ? null : decidedAt),
                ("reason", commit ? null : record.Reason),
                // An abort's votes are not what was written, and what was written is rolled back.
                ("rows", commit ? rows : null),
                ("position", position)).ConfigureAwait(false);
        }
    }

    private async ValueTask NoteInDoubtAsync(DbConnection connection, DbTransaction transaction, LogRecord note, CancellationToken cancellationToken)
    {
        foreach (var vote in note.Participants)
        {
            await InnerCommands.ExecuteAsync(
                connection, transaction, _noteInDoubt, cancellationToken, ("tx", note.TransactionId.ToString()), ("participant", vote.Participant), ("reason", note.Reason))
                .ConfigureAwait(false);
        }
    }

    private ValueTask<int> FinishAsync(DbConnection connection, DbTransaction transaction, LoggedRecord logged, CancellationToken cancellationToken)
        => InnerCommands.ExecuteAsync(
            connection,
            transaction,
            _finish,
            cancellationToken,
            ("tx", logged.Record.TransactionId.ToString()),
            ("finished", tables.Timestamp(logged.Record.Timestamp)),
            ("position", logged.Position.Value));
}
