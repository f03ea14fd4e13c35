using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>Reads a SQLite database's user tables, their keys and whether they carry the version column, and its views.</summary>
internal static class SqliteCatalogReader
{
    /// <summary>The main database's relations, less SQLite's and Khonsu's own.</summary>
    private const string UserRelations = "FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'khonsu\\_%' ESCAPE '\\'";

    public static async ValueTask<BackendCatalog> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string versionColumn, CancellationToken cancellationToken)
    {
        var tables = await InnerCommands.QueryAsync(
            connection,
            transaction,
            $"SELECT name, wr {UserRelations} AND type = 'table' ORDER BY name",
            reader => (Name: reader.GetString(0), WithoutRowId: reader.GetInt64(1) != 0),
            cancellationToken).ConfigureAwait(false);

        var infos = new List<TableInfo>(tables.Count);
        foreach (var (name, withoutRowId) in tables)
        {
            infos.Add(await ReadTableAsync(connection, transaction, name, withoutRowId, versionColumn, cancellationToken).ConfigureAwait(false));
        }

        // Views route statements here; they are never tables for the read set.
        var views = await InnerCommands.QueryAsync(
            connection,
            transaction,
            $"SELECT name {UserRelations} AND type = 'view' ORDER BY name",
            reader => new ViewInfo(null, reader.GetString(0)),
            cancellationToken).ConfigureAwait(false);
        return new BackendCatalog(infos, views);
    }

    private static async ValueTask<TableInfo> ReadTableAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string table, bool withoutRowId, string versionColumn, CancellationToken cancellationToken)
    {
        var columns = await InnerCommands.QueryAsync(
            connection, transaction, "SELECT name, pk FROM pragma_table_info($table)", reader => (Name: reader.GetString(0), KeyOrder: reader.GetInt64(1)), cancellationToken, ("$table", table)).ConfigureAwait(false);
        var hasVersion = columns.Any(c => c.Name.Equals(versionColumn, StringComparison.OrdinalIgnoreCase));
        var keys = columns.Where(c => c.KeyOrder > 0).Select(c => (Order: c.KeyOrder, Column: c.Name)).ToList();

        // A table without a declared key is identified by its rowid (WITHOUT ROWID tables always declare one).
        IReadOnlyList<string> keyColumns = keys.Count > 0 || withoutRowId ? keys.OrderBy(k => k.Order).Select(k => k.Column).ToList() : ["rowid"];
        var trigger = await InnerCommands.ScalarAsync(
            connection, transaction, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = $name", cancellationToken, ("$name", SqliteSchemaInstaller.VersionTriggerName(table))).ConfigureAwait(false);
        return new TableInfo(null, table, keyColumns, hasVersion) { HasKhonsuTriggers = trigger is not null };
    }
}
