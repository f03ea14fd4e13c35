using Khonsu.Data.Backends;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Learns from result metadata (the table OID and attribute number PostgreSQL sends with every
/// result column, at no extra cost) which columns of a result carry a tracked table's key and
/// version, cached per SQL text. A self-join yields one tracked instance per occurrence.
/// </summary>
internal sealed class PostgresReadShapes(IReadOnlyDictionary<uint, PostgresTableKey> tablesByOid)
{
    private readonly ReadShapeCache _shapes = new();

    public KeyColumns[] Of(NpgsqlDataReader reader, string sql) => _shapes.GetOrLearn(sql, reader, Learn);

    private KeyColumns[] Learn(NpgsqlDataReader reader)
    {
        var columns = reader.GetColumnSchema();
        var tracked = new List<KeyColumns>();
        foreach (var byTable in columns.Where(c => c.TableOID > 0 && c.ColumnOrdinal is not null).GroupBy(c => c.TableOID))
        {
            if (!tablesByOid.TryGetValue(byTable.Key, out var table))
            {
                continue;
            }

            var ordinalsOf = byTable.GroupBy(c => c.ColumnAttributeNumber).ToDictionary(g => g.Key ?? 0, g => g.Select(c => c.ColumnOrdinal!.Value).ToList());
            var needed = table.KeyAttributes.Append(table.VersionAttribute).ToList();
            if (!needed.All(ordinalsOf.ContainsKey))
            {
                continue; // The result lacks the key, or the version that validation needs: rows cannot be told apart.
            }

            var occurrences = needed.Min(attribute => ordinalsOf[attribute].Count);
            for (var i = 0; i < occurrences; i++)
            {
                tracked.Add(new KeyColumns(table.Table, table.KeyAttributes.Select(a => ordinalsOf[a][i]).ToArray()));
            }
        }

        return [.. tracked];
    }
}
