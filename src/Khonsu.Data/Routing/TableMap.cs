using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Which backends own each table name, and what their catalogs say of it, built from the backends'
/// catalogs. Names compare without case: both SQLite and PostgreSQL (for unquoted names) treat them so.
/// </summary>
internal sealed class TableMap
{
    private readonly Dictionary<string, List<(KhonsuBackend Backend, TableInfo Table)>> _tables = new(StringComparer.OrdinalIgnoreCase);

    public TableMap(IEnumerable<(KhonsuBackend Backend, BackendCatalog Catalog)> catalogs)
    {
        foreach (var (backend, catalog) in catalogs)
        {
            foreach (var table in catalog.Tables)
            {
                Add(table.Name, backend, table);
                if (table.Schema is not null)
                {
                    Add(table.Schema + "." + table.Name, backend, table);
                }
            }
        }
    }

    public IReadOnlyList<KhonsuBackend> OwnersOf(TableReference table)
        => Candidates(table) is { } candidates ? candidates.Select(c => c.Backend).Distinct().ToList() : [];

    /// <summary>
    /// The catalog's entry for a table the backend owns; null when the name is unknown there or
    /// could mean several of its tables (names differing in case or schema only).
    /// </summary>
    public TableInfo? TableOf(KhonsuBackend backend, TableReference table)
    {
        var matches = Candidates(table)?.Where(c => c.Backend == backend).Take(2).ToList();
        return matches is [var only] ? only.Table : null;
    }

    private List<(KhonsuBackend Backend, TableInfo Table)>? Candidates(TableReference table)
    {
        if (table.Schema is not null && _tables.TryGetValue(table.Schema + "." + table.Name, out var qualified))
        {
            return qualified;
        }

        return _tables.TryGetValue(table.Name, out var tables) ? tables : null;
    }

    private void Add(string name, KhonsuBackend backend, TableInfo table)
    {
        if (!_tables.TryGetValue(name, out var tables))
        {
            _tables[name] = tables = [];
        }

        tables.Add((backend, table));
    }
}
