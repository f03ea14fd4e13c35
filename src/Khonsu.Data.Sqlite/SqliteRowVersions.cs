using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Microsoft.Data.Sqlite;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Validates rows read one by one on SQLite, which keeps no record of who changed a row: each row's
/// version column (which every writer bumps, Khonsu's trigger sees to it) is read in the
/// transaction's own snapshot and again on a connection that holds the file's write lock, so sees
/// the current row and keeps it so. A row whose version differs, or that is gone, was changed
/// since the snapshot: it is stale.
/// </summary>
internal static class SqliteRowVersions
{
    /// <summary>Whether each row of <paramref name="tables"/> can be validated by version (every table read has the column).</summary>
    public static bool CanValidate(IEnumerable<TableInfo> tables) => tables.All(table => table.HasVersionColumn);

    /// <summary>
    /// Marks stale in <paramref name="reads"/> the rows whose version in the snapshot of
    /// <paramref name="snapshot"/> is not the one <paramref name="current"/> reads now.
    /// </summary>
    public static async ValueTask FindChangedAsync(
        (SqliteConnection Connection, SqliteTransaction Transaction) snapshot,
        (SqliteConnection Connection, SqliteTransaction Transaction) current,
        RowsRead reads,
        string versionColumn,
        bool async,
        CancellationToken cancellationToken)
    {
        reads.ClearStale();
        foreach (var byTable in reads.Rows.GroupBy(row => row.Key.Table))
        {
            var table = byTable.Key;
            var select = $"SELECT {Quote(versionColumn)} FROM {Quote(table.Name)} WHERE {SqliteRowImages.KeyMatch(table)}";
            var noKey = new object?[table.KeyColumns.Count];
            using var then = InnerCommands.Create(snapshot.Connection, snapshot.Transaction, select, SqliteRowImages.KeyParameters(table, noKey));
            using var now = InnerCommands.Create(current.Connection, current.Transaction, select, SqliteRowImages.KeyParameters(table, noKey));
            foreach (var row in byTable)
            {
                var seen = await VersionAsync(then, row.Value, async, cancellationToken).ConfigureAwait(false);
                var latest = await VersionAsync(now, row.Value, async, cancellationToken).ConfigureAwait(false);
                if (seen is null || latest is null || !seen.Equals(latest))
                {
                    reads.MarkStale(row.Key);
                }
            }
        }
    }

    /// <summary>The row's version, or null when no such row exists.</summary>
    private static async ValueTask<object?> VersionAsync(System.Data.Common.DbCommand command, object[] key, bool async, CancellationToken cancellationToken)
    {
        for (var i = 0; i < key.Length; i++)
        {
            command.Parameters[i].Value = key[i] ?? DBNull.Value;
        }

        var version = await SyncOrAsync.ExecuteScalarAsync(command, async, cancellationToken).ConfigureAwait(false);
        return version is DBNull ? null : version;
    }
}
