using System.Data.Common;
using System.Text;
using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Captures what a Khonsu transaction writes, in the database itself: TEMP triggers, which exist
/// only on Khonsu's own connections, pass each changed row's key and version to the handle's
/// <see cref="SqliteCaptureSession"/>, which keeps them while a Khonsu transaction is active.
/// Other writers are never slowed or affected.
/// </summary>
internal static class SqliteCapture
{
    private const string TriggerPrefix = "khonsu_capture_";

    /// <summary>
    /// The handle's capture session, its triggers first brought up to the catalog: a statement only
    /// when the catalog changed since they were built (or the handle is new). Runs before the local
    /// transaction begins, so that the triggers it builds are not rolled back with it while the
    /// session believes them built.
    /// </summary>
    public static async ValueTask<SqliteCaptureSession> SessionAsync(SqliteConnection connection, SqliteBackend.CatalogState catalog, string versionColumn, CancellationToken cancellationToken)
    {
        var session = SqliteCaptureSession.Of(connection.Handle!);
        if (!ReferenceEquals(session.TriggersBuiltFor, catalog))
        {
            session.TriggersBuiltFor = null;
            await RebuildTriggersAsync(connection, catalog, versionColumn, cancellationToken).ConfigureAwait(false);
            session.TriggersBuiltFor = catalog;
        }

        return session;
    }

    private static async ValueTask RebuildTriggersAsync(SqliteConnection connection, SqliteBackend.CatalogState catalog, string versionColumn, CancellationToken cancellationToken)
    {
        var existing = await InnerCommands.QueryAsync(
            connection, null, $"SELECT name FROM sqlite_temp_master WHERE type = 'trigger' AND name LIKE '{TriggerPrefix}%'", reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);

        var sql = new StringBuilder();
        foreach (var name in existing)
        {
            sql.Append("DROP TRIGGER IF EXISTS temp.").Append(Quote(name)).Append(";\n");
        }

        foreach (var table in catalog.Catalog.Tables)
        {
            AppendTriggers(sql, table, versionColumn);
        }

        // A failure part way leaves the session's catalog unset: the next transaction rebuilds them all.
        await InnerCommands.ExecuteAsync(connection, null, sql.ToString(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The session keeps the first capture of each row: its first operation and the version it had
    /// before this transaction touched it. Prepare reads the row's final state.
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
            .Append(" FOR EACH ROW");
        if (extraCondition is not null)
        {
            sql.Append(" WHEN ").Append(extraCondition);
        }

        sql.Append(" BEGIN SELECT ").Append(SqliteCaptureSession.FunctionName).Append('(')
            .Append(Literal(table.Name)).Append(", ").Append(key).Append(", '").Append(op).Append("', ").Append(oldVersion).Append("); END;\n");
    }
}

/// <summary>One row a transaction touched: its table, key (a JSON array of the key values), first operation and first old version.</summary>
internal sealed record CapturedRow(string Table, string KeyJson, char FirstOperation, long? OldVersion);
