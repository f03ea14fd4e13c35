using System.Data.Common;
using System.Text;
using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Captures what a Khonsu transaction writes, in the database itself: TEMP triggers, which exist
/// only on Khonsu's own connections, record each changed row's key and version into a TEMP table
/// while a Khonsu transaction is active. Other writers are never slowed or affected.
/// </summary>
internal static class SqliteCapture
{
    private const string TriggerPrefix = "khonsu_capture_";

    public static ValueTask<int> EnsureSessionAsync(DbConnection connection, CancellationToken cancellationToken)
        => InnerCommands.ExecuteAsync(
            connection,
            null,
            """
            CREATE TEMP TABLE IF NOT EXISTS khonsu_capture (tbl TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, old_version INTEGER, PRIMARY KEY (tbl, key));
            CREATE TEMP TABLE IF NOT EXISTS khonsu_state (id INTEGER PRIMARY KEY CHECK (id = 1), active INTEGER NOT NULL, catalog_version INTEGER NOT NULL);
            INSERT OR IGNORE INTO temp.khonsu_state VALUES (1, 0, -1);
            """,
            cancellationToken);

    /// <summary>Turns capture on for the transaction, first bringing this handle's triggers up to the catalog.</summary>
    public static async ValueTask StartAsync(SqliteConnection connection, SqliteTransaction transaction, SqliteBackend.CatalogState catalog, string versionColumn, CancellationToken cancellationToken)
    {
        var version = await InnerCommands.ScalarAsync(
            connection, transaction, "DELETE FROM temp.khonsu_capture; UPDATE temp.khonsu_state SET active = 1 RETURNING catalog_version", cancellationToken).ConfigureAwait(false);
        if (Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture) != catalog.Version)
        {
            await RebuildTriggersAsync(connection, transaction, catalog, versionColumn, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Turns capture off; runs inside the local transaction, so it commits or rolls back with it.</summary>
    public static ValueTask<int> StopAsync(DbConnection connection, DbTransaction transaction, bool async, CancellationToken cancellationToken)
        => InnerCommands.ExecuteAsync(connection, transaction, "UPDATE temp.khonsu_state SET active = 0", async, cancellationToken);

    public static async ValueTask<IReadOnlyList<CapturedRow>> ReadAsync(DbConnection connection, DbTransaction transaction, bool async, CancellationToken cancellationToken)
        => await InnerCommands.QueryAsync(
            connection,
            transaction,
            "SELECT tbl, key, op, old_version FROM temp.khonsu_capture",
            reader => new CapturedRow(reader.GetString(0), reader.GetString(1), reader.GetString(2)[0], reader.IsDBNull(3) ? null : reader.GetInt64(3)),
            async,
            cancellationToken).ConfigureAwait(false);

    private static async ValueTask RebuildTriggersAsync(SqliteConnection connection, SqliteTransaction transaction, SqliteBackend.CatalogState catalog, string versionColumn, CancellationToken cancellationToken)
    {
        var existing = await InnerCommands.QueryAsync(
            connection, transaction, $"SELECT name FROM sqlite_temp_master WHERE type = 'trigger' AND name LIKE '{TriggerPrefix}%'", reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);

        var sql = new StringBuilder();
        foreach (var name in existing)
        {
            sql.Append("DROP TRIGGER IF EXISTS temp.").Append(Quote(name)).Append(";\n");
        }

        foreach (var table in catalog.Catalog.Tables)
        {
            AppendTriggers(sql, table, versionColumn);
        }

        sql.Append("UPDATE temp.khonsu_state SET catalog_version = ").Append(catalog.Version).Append(';');
        await InnerCommands.ExecuteAsync(connection, transaction, sql.ToString(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// INSERT OR IGNORE keeps the first capture of each row: its first operation and the version
    /// it had before this transaction touched it. Prepare reads the row's final state.
    /// </summary>
    private static void AppendTriggers(StringBuilder sql, TableInfo table, string versionColumn)
    {
        var oldVersion = table.HasVersionColumn ? "OLD." + Quote(versionColumn) : "NULL";
        Append(sql, table, "INSERT", 'I', "NEW", "NULL");
        Append(sql, table, "UPDATE", 'U', "OLD", oldVersion);
        Append(sql, table, "DELETE", 'D', "OLD", oldVersion);

        // An update that changes the key also creates a row under the new key.
        var keyChanged = string.Join(" OR ", table.KeyColumns.Select(k => $"NEW.{Quote(k)} IS NOT OLD.{Quote(k)}"));
        Append(sql, table, "UPDATE", 'I', "NEW", "NULL", suffix: "_rekey", extraCondition: keyChanged);
    }

    private static void Append(StringBuilder sql, TableInfo table, string operation, char op, string row, string oldVersion, string suffix = "", string? extraCondition = null)
    {
        var key = "json_array(" + string.Join(", ", table.KeyColumns.Select(k => row + "." + Quote(k))) + ")";
        sql.Append("CREATE TEMP TRIGGER ").Append(Quote(TriggerPrefix + char.ToLowerInvariant(op) + operation[0] + suffix + "_" + table.Name))
            .Append(" AFTER ").Append(operation).Append(" ON main.").Append(Quote(table.Name))
            .Append(" FOR EACH ROW WHEN (SELECT active FROM khonsu_state)");
        if (extraCondition is not null)
        {
            sql.Append(" AND (").Append(extraCondition).Append(')');
        }

        // Trigger bodies may not qualify table names; TEMP objects are found first.
        sql.Append(" BEGIN INSERT OR IGNORE INTO khonsu_capture (tbl, key, op, old_version) VALUES (")
            .Append(Literal(table.Name)).Append(", ").Append(key).Append(", '").Append(op).Append("', ").Append(oldVersion).Append("); END;\n");
    }
}

/// <summary>One row a transaction touched: its table, key (a JSON array of the key values), first operation and first old version.</summary>
internal sealed record CapturedRow(string Table, string KeyJson, char FirstOperation, long? OldVersion);
