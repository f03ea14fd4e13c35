namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// The tables of the embedded log. khonsu_log is the log itself; transaction_log is what DBAs
/// query (one row per transaction and participant); khonsu_unfinished keeps recovery's work list
/// small however long the log grows.
/// </summary>
internal static class EmbeddedLogSchema
{
    public const string Create = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        CREATE TABLE IF NOT EXISTS khonsu_log (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            tx_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            node_id TEXT NOT NULL,
            written_at TEXT NOT NULL,
            record BLOB NOT NULL);
        CREATE INDEX IF NOT EXISTS khonsu_log_tx ON khonsu_log (tx_id, kind);
        CREATE TABLE IF NOT EXISTS khonsu_unfinished (tx_id TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS transaction_log (
            tx_id TEXT NOT NULL,
            participant TEXT NOT NULL,
            status TEXT NOT NULL,
            decision TEXT,
            node_id TEXT,
            operation TEXT,
            started_at TEXT,
            decided_at TEXT,
            finished_at TEXT,
            abort_reason TEXT,
            rows_written INTEGER,
            log_position INTEGER,
            PRIMARY KEY (tx_id, participant)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS khonsu_log_meta (format_version INTEGER NOT NULL);
        INSERT INTO khonsu_log_meta (format_version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM khonsu_log_meta);
        """;

    public const string InsertRecord = "INSERT INTO khonsu_log (tx_id, kind, node_id, written_at, record) VALUES (?1, ?2, ?3, ?4, ?5)";

    public const string FirstDecision = "SELECT position, kind, record FROM khonsu_log WHERE tx_id = ?1 AND kind IN ('COMMIT', 'ABORT') ORDER BY position LIMIT 1";

    public const string AddUnfinished = "INSERT OR IGNORE INTO khonsu_unfinished (tx_id, position) VALUES (?1, ?2)";

    public const string RemoveUnfinished = "DELETE FROM khonsu_unfinished WHERE tx_id = ?1";

    public const string ReadUnfinished = "SELECT l.position, l.record FROM khonsu_unfinished u JOIN khonsu_log l ON l.position = u.position ORDER BY l.position";

    public const string ReadFrom = "SELECT position, record FROM khonsu_log WHERE position >= ?1 ORDER BY position";

    public const string UpsertParticipant = """
        INSERT INTO transaction_log (tx_id, participant, status, decision, node_id, operation, started_at, decided_at, finished_at, abort_reason, rows_written, log_position)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
        ON CONFLICT (tx_id, participant) DO UPDATE SET
            status = excluded.status, decision = excluded.decision, node_id = coalesce(transaction_log.node_id, excluded.node_id),
            operation = coalesce(excluded.operation, transaction_log.operation), started_at = coalesce(excluded.started_at, transaction_log.started_at),
            decided_at = coalesce(transaction_log.decided_at, excluded.decided_at), finished_at = excluded.finished_at,
            abort_reason = coalesce(excluded.abort_reason, transaction_log.abort_reason), rows_written = coalesce(excluded.rows_written, transaction_log.rows_written),
            log_position = coalesce(transaction_log.log_position, excluded.log_position)
        """;

    public const string FinishParticipants = """
        UPDATE transaction_log SET status = CASE decision WHEN 'COMMIT' THEN 'COMMITTED' ELSE 'ABORTED' END, finished_at = ?2, abort_reason = CASE decision WHEN 'COMMIT' THEN NULL ELSE abort_reason END
        WHERE tx_id = ?1
        """;

    public const string NoteParticipant = """
        INSERT INTO transaction_log (tx_id, participant, status, abort_reason) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (tx_id, participant) DO UPDATE SET status = excluded.status, abort_reason = excluded.abort_reason
        """;
}
