using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>Reads a SQLite database's user tables, their keys and whether they carry the version column.</summary>
internal static class SqliteCatalogReader
{
    public static async ValueTask<BackendCatalog> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string versionColumn, CancellationToken cancellationToken)
    {
        var tables = new List<(string Name, bool WithoutRowId)>();
        var list = InnerCommands.Create(connection, transaction, "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'khonsu\\_%' ESCAPE '\\' ORDER BY name");
        await using (list.ConfigureAwait(false))
        {
            var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    tables.Add((reader.GetString(0), reader.GetInt64(1) != 0));
                }
            }
        }

        var infos = new List<TableInfo>(tables.Count);
        foreach (var (name, withoutRowId) in tables)
        {
            infos.Add(await ReadTableAsync(connection, transaction, name, withoutRowId, versionColumn, cancellationToken).ConfigureAwait(false));
        }

        return new BackendCatalog(infos);
    }

    private static async ValueTask<TableInfo> ReadTableAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string table, bool withoutRowId, string versionColumn, CancellationToken cancellationToken)
    {
        var keys = new List<(long Order, string Column)>();
        var hasVersion = false;
        var info = InnerCommands.Create(connection, transaction, "SELECT name, pk FROM pragma_table_info($table)", ("$table", table));
        await using (info.ConfigureAwait(false))
        {
            var reader = await info.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var column = reader.GetString(0);
                    hasVersion |= column.Equals(versionColumn, StringComparison.OrdinalIgnoreCase);
                    if (reader.GetInt64(1) > 0)
                    {
                        keys.Add((reader.GetInt64(1), column));
                    }
                }
            }
        }

        // A table without a declared key is identified by its rowid (WITHOUT ROWID tables always declare one).
        IReadOnlyList<string> keyColumns = keys.Count > 0 || withoutRowId ? keys.OrderBy(k => k.Order).Select(k => k.Column).ToList() : ["rowid"];
        var trigger = await InnerCommands.ScalarAsync(
            connection, transaction, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = $name", cancellationToken, ("$name", SqliteSchemaInstaller.VersionTriggerName(table))).ConfigureAwait(false);
        return new TableInfo(null, table, keyColumns, hasVersion) { HasKhonsuTriggers = trigger is not null };
    }
}
