namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// Keeps transaction_log, the table DBAs query, in step with the log: called by the writer inside
/// the same SQLite transaction as the append, so the table never shows what the log does not hold.
/// Only a transaction's first decision shapes its rows; a late decision record changes nothing.
/// </summary>
internal sealed class TransactionLogView(RawSqlite connection)
{
    /// <summary>The row a transaction gets when its decision names no participant.</summary>
    public const string AnyParticipant = "*";

    private const string UpsertDecision = """
        INSERT INTO transaction_log (tx_id, participant, status, decision, node_id, operation, started_at, decided_at, finished_at, abort_reason, rows_written, log_position)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
        ON CONFLICT (tx_id, participant) DO UPDATE SET
            status = excluded.status, decision = excluded.decision, node_id = excluded.node_id, operation = excluded.operation,
            started_at = excluded.started_at, decided_at = excluded.decided_at, finished_at = excluded.finished_at,
            abort_reason = excluded.abort_reason, rows_written = excluded.rows_written, log_position = excluded.log_position
        """;

    // A note about trouble (the abort_reason of an IN_DOUBT row) no longer applies once the commit is finished.
    private const string Finish = """
        UPDATE transaction_log
        SET status = CASE ?3 WHEN 'COMMIT' THEN 'COMMITTED' ELSE 'ABORTED' END,
            decision = ?3,
            finished_at = ?2,
            abort_reason = CASE ?3 WHEN 'COMMIT' THEN NULL ELSE abort_reason END
        WHERE tx_id = ?1
        """;

    private const string UpsertNote = """
        INSERT INTO transaction_log (tx_id, participant, status, abort_reason) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (tx_id, participant) DO UPDATE SET status = excluded.status, abort_reason = excluded.abort_reason
        """;

    /// <summary>A commit decision leaves every participant prepared; an abort decision is final at once.</summary>
    public void RecordDecision(LogRecord decision, long position)
    {
        var commit = decision.Kind == LogRecordKind.Commit;
        var decidedAt = LogText.Timestamp(decision.Timestamp);
        IEnumerable<(string Participant, long? Rows)> participants = decision.Participants.Count > 0
            ? decision.Participants.Select(vote => (vote.Participant, Rows: (long?)vote.Writes.Count))
            : [(AnyParticipant, null)];

        foreach (var (participant, rows) in participants)
        {
            using var upsert = connection.Prepare(UpsertDecision);
            upsert.Bind(1, decision.TransactionId.ToString())
                .Bind(2, participant)
                .Bind(3, LogText.Status(commit ? ParticipantStatus.Prepared : ParticipantStatus.Aborted))
                .Bind(4, LogText.Kind(decision.Kind))
                .Bind(5, decision.NodeId)
                .Bind(6, decision.Operation)
                .Bind(7, LogText.Timestamp(decision.StartedAt))
                .Bind(8, decidedAt)
                .Bind(9, commit ? null : decidedAt)
                .Bind(10, commit ? null : decision.Reason)
                // An abort's votes are not what was written, and what was written is rolled back.
                .Bind(11, commit ? rows : null)
                .Bind(12, position)
                .Run();
        }
    }

    /// <summary>The end record: every participant finished the transaction's decided outcome.</summary>
    public void RecordEnd(LogRecord end, LogRecordKind decision)
    {
        using var finish = connection.Prepare(Finish);
        finish.Bind(1, end.TransactionId.ToString())
            .Bind(2, LogText.Timestamp(end.Timestamp))
            .Bind(3, LogText.Kind(decision))
            .Run();
    }

    /// <param name="status">Already spelled by <see cref="LogText.Status"/>, so a bad value fails its caller, not the batch.</param>
    public void RecordNote(TransactionId transactionId, string participant, string status, string? reason)
    {
        using var note = connection.Prepare(UpsertNote);
        note.Bind(1, transactionId.ToString())
            .Bind(2, participant)
            .Bind(3, status)
            .Bind(4, reason)
            .Run();
    }
}
