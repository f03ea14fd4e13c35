using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine.Commit;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>Reads the current image of a captured row, for the log record that redo replays.</summary>
internal static class SqliteRowImages
{
    /// <summary>The row as it is now in the transaction, or null if it no longer exists.</summary>
    public static async ValueTask<RowImage?> ReadAsync(DbConnection connection, DbTransaction transaction, TableInfo table, IReadOnlyList<object?> key, bool async, CancellationToken cancellationToken)
    {
        var rowIdOnly = table.KeyColumns is ["rowid"];
        var select = $"SELECT {(rowIdOnly ? "rowid, " : string.Empty)}* FROM {Quote(table.Name)} WHERE {KeyMatch(table)}";
        var images = await InnerCommands.QueryAsync(connection, transaction, select, ImageOf, async, cancellationToken, KeyParameters(table, key)).ConfigureAwait(false);
        return images.Count == 0 ? null : images[0];
    }

    private static RowImage ImageOf(DbDataReader reader)
    {
        var columns = new string[reader.FieldCount];
        var values = new object?[reader.FieldCount];
        for (var i = 0; i < reader.FieldCount; i++)
        {
            columns[i] = reader.GetName(i);
            values[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return new RowImage(columns, values);
    }

    public static string KeyMatch(TableInfo table)
        => string.Join(" AND ", table.KeyColumns.Select((k, i) => $"{Quote(k)} IS $k{i}"));

    public static (string Name, object? Value)[] KeyParameters(TableInfo table, IReadOnlyList<object?> key)
        => table.KeyColumns.Select((_, i) => ($"$k{i}", key[i])).ToArray();
}
