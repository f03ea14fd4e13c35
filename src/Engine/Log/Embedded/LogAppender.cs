namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// Appends one record inside the writer's open transaction and keeps what is derived from the
/// log in step: recovery's work list and transaction_log. Because the transaction's first
/// decision is looked up in that same transaction, two processes or a batch racing a commit
/// against an abort agree on which came first.
/// </summary>
internal sealed class LogAppender(RawSqlite connection)
{
    private const string Insert = "INSERT INTO khonsu_log (tx_id, kind, node_id, written_at, record) VALUES (?1, ?2, ?3, ?4, ?5)";

    // min() in a subquery reads the (tx_id, kind) index alone; ORDER BY position LIMIT 1 would sort in a temporary b-tree.
    private const string FirstDecision = $"""
        SELECT kind FROM khonsu_log
        WHERE position = (SELECT min(position) FROM khonsu_log WHERE tx_id = ?1 AND kind IN ('{LogText.Commit}', '{LogText.Abort}'))
        """;

    private const string HasEnd = $"SELECT 1 FROM khonsu_log WHERE tx_id = ?1 AND kind = '{LogText.End}' LIMIT 1";

    private const string AddUnfinished = "INSERT INTO khonsu_log_unfinished (position, tx_id) VALUES (?1, ?2)";

    private const string RemoveUnfinished = "DELETE FROM khonsu_log_unfinished WHERE tx_id = ?1";

    private readonly TransactionLogView _view = new(connection);

    /// <summary>Housekeeping in the writer's transaction: deleting what recovery and the DBA are done with.</summary>
    public LogTruncator Truncator { get; } = new(connection);

    public AppendResult Append(LogRecord record, ReadOnlySpan<byte> encoded)
    {
        var transactionId = record.TransactionId.ToString();
        var decision = FindFirstDecision(transactionId);

        using (var insert = connection.Prepare(Insert))
        {
            insert.Bind(1, transactionId)
                .Bind(2, LogText.Kind(record.Kind))
                .Bind(3, record.NodeId)
                .Bind(4, LogText.Timestamp(record.Timestamp))
                .Bind(5, encoded)
                .Run();
        }

        var position = connection.LastInsertRowId;
        if (record.Kind == LogRecordKind.End)
        {
            Unfinish(transactionId);
            if (decision is { } decided)
            {
                _view.RecordEnd(record, decided);
            }
        }
        else if (decision is null)
        {
            // This record is the transaction's decision: recovery owns it until an end record
            // comes, unless it is an abort whose participants had all rolled back already.
            decision = record.Kind;
            if (!Ended(transactionId) && !(record.Kind == LogRecordKind.Abort && record.EndsTransaction))
            {
                AddToUnfinished(position, transactionId);
            }

            _view.RecordDecision(record, position);
        }

        return new AppendResult(new LogPosition(position), decision);
    }

    public void Note(TransactionId transactionId, string participant, string status, string? reason)
        => _view.RecordNote(transactionId, participant, status, reason);

    private LogRecordKind? FindFirstDecision(string transactionId)
    {
        using var query = connection.Prepare(FirstDecision);
        return query.Bind(1, transactionId).Step() ? LogText.Decision(query.Text(0)) : null;
    }

    private bool Ended(string transactionId)
    {
        using var query = connection.Prepare(HasEnd);
        return query.Bind(1, transactionId).Step();
    }

    private void AddToUnfinished(long position, string transactionId)
    {
        using var add = connection.Prepare(AddUnfinished);
        add.Bind(1, position).Bind(2, transactionId).Run();
    }

    private void Unfinish(string transactionId)
    {
        using var remove = connection.Prepare(RemoveUnfinished);
        remove.Bind(1, transactionId).Run();
    }
}
