using System.Data.Common;

namespace Khonsu.Data.Backends;

/// <summary>
/// Records each row of a result set by the key columns it carries, for every table the backend
/// attributed columns to (a self-join gives one <see cref="KeyColumns"/> per occurrence).
/// </summary>
public sealed class KeyedRowTracker(IReadOnlyList<KeyColumns> tables, Action<TableInfo, object[]> read) : IRowReadTracker
{
    /// <inheritdoc/>
    public IReadOnlyCollection<string> Tables { get; } = tables.Select(t => t.Table.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <inheritdoc/>
    public void OnRow(DbDataReader reader)
    {
        foreach (var table in tables)
        {
            if (KeyOf(reader, table.Ordinals) is { } key)
            {
                read(table.Table, key);
            }
        }
    }

    /// <summary>Null on the null side of an outer join: no row of that table.</summary>
    private static object[]? KeyOf(DbDataReader reader, int[] ordinals)
    {
        var key = new object[ordinals.Length];
        for (var i = 0; i < key.Length; i++)
        {
            if (reader.IsDBNull(ordinals[i]))
            {
                return null;
            }

            key[i] = reader.GetValue(ordinals[i]);
        }

        return key;
    }
}

/// <summary>Where a table's key columns are in one result set, by ordinal.</summary>
public sealed record KeyColumns(TableInfo Table, int[] Ordinals);
