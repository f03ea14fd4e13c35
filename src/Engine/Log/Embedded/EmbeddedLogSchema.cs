namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// The tables of the embedded log file, created at open if missing. khonsu_log is the log;
/// transaction_log is the DBA's view (one row per transaction and participant); khonsu_log_unfinished
/// is recovery's work list, kept beside the log so that finding unfinished transactions does not
/// scan a log that only grows; khonsu_log_meta holds the layout's version, the log's id (generated
/// when the file is created, or when a build that fences databases first opens an older file) and
/// who holds the log now (for the message a second process gets); khonsu_log_truncated the highest
/// position truncation deleted (see <see cref="LogTruncator"/>). Positions are AUTOINCREMENT, so a
/// position truncation freed is never given to another record.
/// </summary>
internal static class EmbeddedLogSchema
{
    public const int FormatVersion = 1;

    private static readonly string Tables = $"""
        CREATE TABLE IF NOT EXISTS khonsu_log (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            tx_id TEXT NOT NULL,
            kind TEXT NOT NULL,           -- COMMIT | ABORT | END
            node_id TEXT NOT NULL,
            written_at TEXT NOT NULL,     -- ISO-8601 UTC
            record BLOB NOT NULL);        -- LogRecordCodec, format version in its first byte
        CREATE INDEX IF NOT EXISTS khonsu_log_tx_kind ON khonsu_log (tx_id, kind);
        CREATE TABLE IF NOT EXISTS khonsu_log_unfinished (
            position INTEGER PRIMARY KEY, -- of the transaction's first decision record
            tx_id TEXT NOT NULL UNIQUE);
        {TransactionLogTable("transaction_log")}
        CREATE TABLE IF NOT EXISTS khonsu_log_meta (format_version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS khonsu_log_truncated (position INTEGER NOT NULL);
        """;

    /// <summary>
    /// Columns added to khonsu_log_meta after format version 1 shipped: added in place (older
    /// builds read format_version alone and keep opening the file), so the layout's version stays 1.
    /// </summary>
    private static readonly (string Name, string Type)[] MetaColumns = [("log_id", "TEXT"), ("held_by", "TEXT"), ("held_since", "TEXT")];

    /// <summary>
    /// transaction_log's CREATE TABLE under a given name: also the table a SQLite backend holds
    /// when it materialises a Kafka log's transaction_log, so that both have the same columns.
    /// </summary>
    public static string TransactionLogTable(string name) => $"""
        CREATE TABLE IF NOT EXISTS {name} (
            tx_id TEXT NOT NULL,
            participant TEXT NOT NULL,
            status TEXT NOT NULL,         -- PREPARED | COMMITTED | ABORTED | IN_DOUBT
            decision TEXT,                -- COMMIT | ABORT
            node_id TEXT,
            operation TEXT,
            started_at TEXT,
            decided_at TEXT,
            finished_at TEXT,
            abort_reason TEXT,
            rows_written INTEGER,
            log_position INTEGER,
            PRIMARY KEY (tx_id, participant)) WITHOUT ROWID; -- one b-tree, so one page less to write per commit
        """;

    private const string StampNewFile = "INSERT INTO khonsu_log_meta (format_version) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM khonsu_log_meta)";

    private const string GiveId = "UPDATE khonsu_log_meta SET log_id = ?1 WHERE log_id IS NULL";

    private const string NoteHolder = "UPDATE khonsu_log_meta SET held_by = ?1, held_since = ?2";

    private const string ReadId = "SELECT log_id FROM khonsu_log_meta WHERE log_id IS NOT NULL LIMIT 1";

    private const string ReadHolderSql = "SELECT held_by, held_since FROM khonsu_log_meta WHERE held_by IS NOT NULL LIMIT 1";

    /// <summary>
    /// Sets the writer's connection up and creates what is missing, in one transaction: the tables,
    /// the log's id if it has none, and <paramref name="holder"/> as the process that holds it now.
    /// Returns the log's id.
    /// </summary>
    public static string Apply(RawSqlite connection, string holder)
    {
        // WAL lets reads run beside the writer's syncs; the mode is stored in the file.
        using (var mode = connection.Prepare("PRAGMA journal_mode = WAL"))
        {
            var actual = mode.Step() ? mode.Text(0) : null;
            if (!string.Equals(actual, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new IOException($"The commit log '{connection.Path}' cannot use write-ahead logging (journal mode is '{actual}'); put it on a local file system.");
            }
        }

        // Per connection: FULL syncs the WAL at every commit, which is what makes an append durable.
        connection.Execute("PRAGMA synchronous = FULL");

        // A large batch can grow the WAL; give the space back after each checkpoint beyond this size.
        connection.Execute("PRAGMA journal_size_limit = 67108864");

        connection.Execute("BEGIN IMMEDIATE");
        try
        {
            connection.Execute(Tables);
            AddMissingMetaColumns(connection);
            using (var stamp = connection.Prepare(StampNewFile))
            {
                stamp.Bind(1, FormatVersion).Run();
            }

            CheckFormatVersion(connection);
            using (var give = connection.Prepare(GiveId))
            {
                give.Bind(1, Guid.NewGuid().ToString()).Run();
            }

            using (var note = connection.Prepare(NoteHolder))
            {
                note.Bind(1, holder).Bind(2, LogText.Timestamp(DateTimeOffset.UtcNow)).Run();
            }

            var id = ReadLogId(connection) ?? throw new InvalidDataException($"The commit log '{connection.Path}' has no log id after its id was given.");
            connection.Execute("COMMIT");
            return id;
        }
        catch
        {
            connection.RollBackAfterError();
            throw;
        }
    }

    /// <summary>The log's id, or null in a file no fencing build has opened for writing yet (or on a connection that cannot see the column).</summary>
    public static string? ReadLogId(RawSqlite connection)
    {
        if (!HasMetaColumn(connection, "log_id"))
        {
            return null;
        }

        using var query = connection.Prepare(ReadId);
        return query.Step() ? query.Text(0) : null;
    }

    /// <summary>Who last opened the log for writing and when, as it noted itself (null if no fencing build did).</summary>
    public static string? ReadHolder(RawSqlite connection)
    {
        if (!HasMetaColumn(connection, "held_by"))
        {
            return null;
        }

        using var query = connection.Prepare(ReadHolderSql);
        return query.Step() ? $"{query.Text(0)}, holding it since {query.Text(1)}" : null;
    }

    private static void AddMissingMetaColumns(RawSqlite connection)
    {
        foreach (var (name, type) in MetaColumns)
        {
            if (!HasMetaColumn(connection, name))
            {
                connection.Execute($"ALTER TABLE khonsu_log_meta ADD COLUMN {name} {type}");
            }
        }
    }

    private static bool HasMetaColumn(RawSqlite connection, string column)
    {
        using var info = connection.Prepare("SELECT 1 FROM pragma_table_info('khonsu_log_meta') WHERE name = ?1");
        return info.Bind(1, column).Step();
    }

    private static void CheckFormatVersion(RawSqlite connection)
    {
        using var meta = connection.Prepare("SELECT max(format_version) FROM khonsu_log_meta");
        var version = meta.Step() ? meta.Int64(0) : 0;
        if (version != FormatVersion)
        {
            throw new InvalidDataException(
                $"The commit log '{connection.Path}' has format version {version}; this build of Khonsu reads version {FormatVersion}.");
        }
    }
}
