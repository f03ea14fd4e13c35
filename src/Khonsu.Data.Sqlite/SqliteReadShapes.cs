using System.Data;
using Khonsu.Data.Backends;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Learns from result metadata (SQLite's column origin: the base table and column each result
/// column comes from) which columns of a result carry a tracked table's key, cached per SQL text
/// for one catalog. An expression, an aggregate or a view's column has no origin, so a result
/// without every key column of a table is not read row by row.
/// </summary>
internal sealed class SqliteReadShapes(IReadOnlyDictionary<string, TableInfo> tables)
{
    private readonly ReadShapeCache _shapes = new();

    public KeyColumns[] Of(SqliteDataReader reader, string sql) => _shapes.GetOrLearn(sql, reader, Learn);

    private KeyColumns[] Learn(SqliteDataReader reader)
    {
        // (table, column) -> the ordinals that carry it, in result order.
        var origins = new Dictionary<(string Table, string Column), List<int>>(OriginComparer.Instance);
        using (var schema = reader.GetSchemaTable())
        {
            foreach (DataRow column in schema.Rows)
            {
                if (column["BaseTableName"] is string table && column["BaseColumnName"] is string name && table.Length > 0 && name.Length > 0)
                {
                    var key = (table, name);
                    if (!origins.TryGetValue(key, out var ordinals))
                    {
                        origins[key] = ordinals = [];
                    }

                    ordinals.Add((int)column["ColumnOrdinal"]);
                }
            }
        }

        var tracked = new List<KeyColumns>();
        foreach (var table in origins.Keys.Select(k => k.Table).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!tables.TryGetValue(table, out var info) || !info.KeyColumns.All(c => origins.ContainsKey((table, c))))
            {
                continue; // not a tracked table, or the result lacks part of its key
            }

            var occurrences = info.KeyColumns.Min(c => origins[(table, c)].Count);
            for (var i = 0; i < occurrences; i++)
            {
                tracked.Add(new KeyColumns(info, info.KeyColumns.Select(c => origins[(table, c)][i]).ToArray()));
            }
        }

        return [.. tracked];
    }

    /// <summary>SQLite names are case-insensitive.</summary>
    private sealed class OriginComparer : IEqualityComparer<(string Table, string Column)>
    {
        public static readonly OriginComparer Instance = new();

        public bool Equals((string Table, string Column) x, (string Table, string Column) y)
            => StringComparer.OrdinalIgnoreCase.Equals(x.Table, y.Table) && StringComparer.OrdinalIgnoreCase.Equals(x.Column, y.Column);

        public int GetHashCode((string Table, string Column) origin)
            => HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(origin.Table), StringComparer.OrdinalIgnoreCase.GetHashCode(origin.Column));
    }
}
