using System.Data.Common;
using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// transaction_log materialised in a SQLite file: named with the khonsu_ prefix, which the catalog
/// reader skips (so the tables get no version trigger and are never routed), with the embedded
/// log's own table definition and text timestamps, so sqlite3 queries written for the embedded log
/// work unchanged.
/// </summary>
internal sealed class SqliteTransactionLogTables : TransactionLogTables
{
    public static readonly SqliteTransactionLogTables Instance = new();

    private static readonly string Create = EmbeddedLogTableSql("khonsu_transaction_log") + "\n" + """
        CREATE TABLE IF NOT EXISTS khonsu_transaction_log_progress (
            log TEXT PRIMARY KEY,
            last_position INTEGER NOT NULL,
            updated_at TEXT NOT NULL) WITHOUT ROWID;
        """;

    public override string Table => "khonsu_transaction_log";

    public override string ProgressTable => "khonsu_transaction_log_progress";

    public override async ValueTask CreateAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await BusyTimeoutAsync(connection, cancellationToken).ConfigureAwait(false);
        await InnerCommands.ExecuteAsync(connection, null, Create, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>BEGIN IMMEDIATE: the file's write lock is the batch's lock, taken before the progress is read.</summary>
    public override async ValueTask<DbTransaction> BeginBatchAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await BusyTimeoutAsync(connection, cancellationToken).ConfigureAwait(false);
        return ((SqliteConnection)connection).BeginTransaction(deferred: false);
    }

    public override object Timestamp(DateTimeOffset value) => TimestampText(value);

    // SQLite's own busy handler waits in small steps; Microsoft.Data.Sqlite's retry loop sleeps far longer.
    private static ValueTask<int> BusyTimeoutAsync(DbConnection connection, CancellationToken cancellationToken)
        => InnerCommands.ExecuteAsync(connection, null, $"PRAGMA busy_timeout = {SqliteBackend.BusyTimeoutMilliseconds}", cancellationToken);
}
