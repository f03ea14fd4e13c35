using System.Text;
using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Installs Khonsu's schema in a SQLite database, idempotently: WAL mode, the applied-marker and log-owner tables,
/// a version column on every user table (an existing one is adopted) and the trigger that bumps
/// it on every update by any writer.
/// </summary>
internal static class SqliteSchemaInstaller
{
    public const string AppliedTable = "khonsu_applied";

    public static async ValueTask InstallAsync(SqliteConnection connection, SqliteTransaction? transaction, string versionColumn, CancellationToken cancellationToken)
    {
        if (transaction is null)
        {
            // WAL gives each transaction a stable snapshot and lets readers run beside the writer.
            await InnerCommands.ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL", cancellationToken).ConfigureAwait(false);
        }

        await InnerCommands.ExecuteAsync(
            connection,
            transaction,
            $"CREATE TABLE IF NOT EXISTS {AppliedTable} (tx_id TEXT PRIMARY KEY, applied_at TEXT NOT NULL) WITHOUT ROWID",
            cancellationToken).ConfigureAwait(false);
        await InnerCommands.ExecuteAsync(connection, transaction, SqliteLogOwnerTable.Create, cancellationToken).ConfigureAwait(false);

        var catalog = await SqliteCatalogReader.ReadAsync(connection, transaction, versionColumn, cancellationToken).ConfigureAwait(false);
        foreach (var table in catalog.Tables.Where(t => !t.HasVersionColumn || !t.HasKhonsuTriggers))
        {
            if (!table.HasVersionColumn)
            {
                await InnerCommands.ExecuteAsync(
                    connection, transaction, $"ALTER TABLE {Quote(table.Name)} ADD COLUMN {Quote(versionColumn)} INTEGER NOT NULL DEFAULT 1", cancellationToken).ConfigureAwait(false);
            }

            await InnerCommands.ExecuteAsync(connection, transaction, VersionTrigger(table, versionColumn), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Bumps the version after an update that did not set it itself (so a writer, or redo, that
    /// sets the version explicitly keeps its value). Recursive triggers are off by default in
    /// SQLite, so the trigger's own update does not fire it again.
    /// </summary>
    private static string VersionTrigger(TableInfo table, string versionColumn)
    {
        var version = Quote(versionColumn);
        var sql = new StringBuilder()
            .Append("CREATE TRIGGER IF NOT EXISTS ").Append(Quote(VersionTriggerName(table.Name)))
            .Append(" AFTER UPDATE ON ").Append(Quote(table.Name))
            .Append(" FOR EACH ROW WHEN NEW.").Append(version).Append(" IS OLD.").Append(version)
            .Append(" BEGIN UPDATE ").Append(Quote(table.Name)).Append(" SET ").Append(version).Append(" = OLD.").Append(version).Append(" + 1 WHERE ")
            .Append(RowMatch(table, "NEW"))
            .Append("; END");
        return sql.ToString();
    }

    public static string VersionTriggerName(string table) => "khonsu_version_" + table;

    /// <summary>A WHERE clause selecting the trigger's row by its key (the declared key, or rowid).</summary>
    public static string RowMatch(TableInfo table, string alias)
        => string.Join(" AND ", table.KeyColumns.Select(k => $"{Quote(k)} = {alias}.{Quote(k)}"));
}
